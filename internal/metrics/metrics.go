package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Buckets shared by duration histograms (seconds).
var (
	fastBuckets   = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	renderBuckets = []float64{.25, .5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600}
	frameBuckets  = []float64{.001, .002, .005, .0075, .01, .015, .02, .03, .05, .1, .2}
)

// HTTP and gRPC.
var (
	HTTPRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_http_requests_total", Help: "HTTP requests by route template, method and status code.",
	}, []string{"route", "method", "code"})
	HTTPDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stickerd_http_request_duration_seconds", Help: "HTTP request latency by route template and method.", Buckets: fastBuckets,
	}, []string{"route", "method"})
	GRPCMessages = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_grpc_messages_total", Help: "Messages on the worker streams by direction and type.",
	}, []string{"direction", "type"})
	GRPCHandleDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stickerd_grpc_handle_duration_seconds", Help: "Time the scheduler spends recording a worker report, by type.", Buckets: fastBuckets,
	}, []string{"type"})
)

// Jobs and the queue (scheduler leader).
var (
	JobTransitions = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_job_transitions_total", Help: "Job state changes recorded by the scheduler, by new state and priority.",
	}, []string{"state", "priority"})
	JobsSubmitted = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_jobs_submitted_total", Help: "Jobs accepted by the gateway, by priority.",
	}, []string{"priority"})
	QueueDepth = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_queue_depth", Help: "Jobs waiting for a worker, by priority.",
	}, []string{"priority"})
	QueueOldestAge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "stickerd_queue_oldest_age_seconds", Help: "Age of the oldest job waiting for a worker.",
	})
	JobsRunning = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "stickerd_jobs_running", Help: "Jobs assigned to workers now.",
	})
	DeadLettered = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_dead_lettered_total", Help: "Jobs sent to the dead-letter topic after exhausting their attempts.",
	})
	StaleReports = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_stale_reports_total", Help: "Worker reports refused because their fencing token was stale.",
	})
	SubmitToRunning = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "stickerd_submit_to_running_seconds", Help: "Time from a job's creation to its assignment.", Buckets: fastBuckets,
	})
	KafkaConsumerLag = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_kafka_consumer_lag", Help: "Messages of a topic not yet committed by this consumer.",
	}, []string{"group", "topic"})
)

// Workers, as the scheduler sees them and as each worker measures itself.
var (
	WorkersConnected = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "stickerd_workers_connected", Help: "Workers with a live stream to the leader.",
	})
	WorkersLost = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_workers_lost_total", Help: "Workers declared lost after missing their heartbeats.",
	})
	HeartbeatsMissed = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_heartbeats_missed_total", Help: "Heartbeat deadlines that passed (each one loses a worker).",
	})
	WorkerCPU = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_worker_cpu_utilization_ratio", Help: "Worker CPU utilisation from its last heartbeat (0..1).",
	}, []string{"worker"})
	WorkerGPU = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_worker_gpu_utilization_ratio", Help: "Worker GPU utilisation from its last heartbeat (0..1).",
	}, []string{"worker"})
	WorkerNVENC = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_worker_nvenc_sessions_in_use", Help: "NVENC sessions a worker uses now.",
	}, []string{"worker"})
	WorkerJobs = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_worker_jobs_running", Help: "Jobs a worker runs now.",
	}, []string{"worker"})
	WorkerChains = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_worker_chain_info", Help: "1 for each render chain a worker can run: cpu, and each GPU chain whose start-up trial passed (gpu-composite, gpu-composite+nvenc).",
	}, []string{"worker", "chain"})
)

// Renders (workers).
var (
	RenderDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stickerd_render_duration_seconds", Help: "Wall time of a render by encoder class (gpu, cpu) and output format.", Buckets: renderBuckets,
	}, []string{"encoder", "format"})
	RenderRealtime = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stickerd_render_realtime_factor", Help: "Output seconds rendered per wall second.", Buckets: []float64{.25, .5, 1, 2, 4, 8, 16, 32},
	}, []string{"encoder", "format"})
	RenderOutputBytes = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stickerd_render_output_bytes", Help: "Size of rendered outputs.", Buckets: prometheus.ExponentialBuckets(64<<10, 2, 12),
	}, []string{"format"})
	Renders = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_renders_total", Help: "Render attempts finished on workers, by result (succeeded, failed, canceled).",
	}, []string{"result"})
	ScratchHits = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_worker_scratch_hits_total", Help: "Worker scratch-cache lookups served without a new download (a cached copy, or one already being fetched).",
	})
	ScratchMisses = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_worker_scratch_misses_total", Help: "Worker scratch-cache lookups that downloaded the object.",
	})
	ScratchEvictions = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_worker_scratch_evictions_total", Help: "Files the worker scratch cache removed, least recently used first, to stay within its bound.",
	})
	ScratchBytes = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "stickerd_worker_scratch_bytes", Help: "Bytes held in worker scratch caches, downloads under way included.",
	})
)

// State store and leadership.
var (
	StoreDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stickerd_statestore_request_duration_seconds", Help: "State store (etcd) request latency by operation.", Buckets: fastBuckets,
	}, []string{"op"})
	StoreErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_statestore_errors_total", Help: "State store requests that failed, by operation.",
	}, []string{"op"})
	LeaderChanges = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_scheduler_leader_changes_total", Help: "Times this replica became or stopped being the leader.",
	})
	IsLeader = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "stickerd_scheduler_is_leader", Help: "1 while this replica dispatches.",
	})
	EtcdHasLeader = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "stickerd_etcd_has_leader", Help: "1 while the embedded etcd member sees a leader (kv and dev processes).",
	})
	SchedulerAuthRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_scheduler_auth_refused_total", Help: "Connections and calls the scheduler refused for want of a valid client certificate or join token, by reason (plaintext, no_certificate, bad_certificate, handshake, token).",
	}, []string{"reason"})
)

// Errors (the taxonomy) and webhooks.
var (
	LocalErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_local_errors_total", Help: "Typed errors seen by this process, by service and code.",
	}, []string{"service", "code"})
	Errors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_errors_total", Help: "Typed errors of every replica, counted by the monitor from stickerd.errors.",
	}, []string{"service", "code"})
	ErrorEventsDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_error_events_dropped_total", Help: "Error events not published (buffer full or Kafka down).",
	})
	DLQMessages = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_dlq_messages_total", Help: "Dead-letter messages seen by the monitor.",
	})
	Webhooks = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_webhook_deliveries_total", Help: "Webhook deliveries by outcome (delivered, failed).",
	}, []string{"outcome"})
)

// Realtime (edge).
var (
	RTCSessions = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "stickerd_rtc_sessions", Help: "Realtime sessions open on this edge.",
	})
	RTCFrameLatency = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "stickerd_rtc_frame_processing_seconds", Help: "Per-frame edge processing (decode, composite, encode).", Buckets: frameBuckets,
	})
	RTCFrames = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_rtc_frames_total", Help: "Frames stickered and sent back.",
	})
	RTCFramesDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "stickerd_rtc_frames_dropped_total", Help: "Frames dropped because the edge was behind.",
	})
	RTCFPS = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "stickerd_rtc_fps", Help: "Mean frames per second across open sessions.",
	})
)

// Retention (issue 14): the scheduler leader counts what is stored from the
// records it scans, and expires it; gateways count deletions on request.
var (
	StoredBytes = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_stored_bytes", Help: "Bytes of uploaded assets and render outputs in the blob store, by kind (asset, output), as the scheduler leader last counted them from the records.",
	}, []string{"kind"})
	StoredObjects = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_stored_objects", Help: "Stored assets and outputs (blob store) and job records (etcd), by kind (asset, output, job), as the scheduler leader last counted them.",
	}, []string{"kind"})
	StoredOldestAge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_stored_oldest_age_seconds", Help: "Age of the oldest stored object of each kind (asset, output, job), from the time its retention counts from.",
	}, []string{"kind"})
	RetentionTTL = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stickerd_retention_ttl_seconds", Help: "Configured retention of each kind (asset, output, job) on the scheduler leader; 0 keeps forever.",
	}, []string{"kind"})
	RetentionDeletions = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_retention_deletions_total", Help: "Assets, outputs and job records removed, by kind (asset, output, job) and reason (expired, deleted).",
	}, []string{"kind", "reason"})
	RetentionDeletedBytes = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "stickerd_retention_deleted_bytes_total", Help: "Bytes removed from the blob store, by kind (asset, output) and reason (expired, deleted).",
	}, []string{"kind", "reason"})
)

func init() {
	for _, k := range []string{"asset", "output", "job"} {
		for _, r := range []string{"expired", "deleted"} {
			RetentionDeletions.WithLabelValues(k, r)
		}
	}
}

// Series with a small, known label set exist from the start at 0, so that
// rate() and increase() see a process's first increment.
func init() {
	for _, o := range []string{"delivered", "failed"} {
		Webhooks.WithLabelValues(o)
	}
	for _, r := range []string{"succeeded", "failed", "canceled"} {
		Renders.WithLabelValues(r)
	}
}
