package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/scheduler"
)

// ReplicaConfig configures one scheduler replica process.
type ReplicaConfig struct {
	Scheduler     scheduler.Config
	Listen        string // gRPC listen address; Scheduler.Advertise defaults to the bound address
	EtcdEndpoints []string
	Brokers       []string
	// Producer is shared with the caller when set; otherwise the replica
	// makes its own.
	Producer *queue.Producer
	// Errors publishes the scheduler's error events; nil makes one on the
	// replica's producer.
	Errors *errevents.Publisher
	// Progress fans out progress; Notify hears of finished jobs (webhooks).
	Progress scheduler.ProgressPublisher
	Notify   func(j *jobs.Job)
	Clock    clock.Clock
	Log      *slog.Logger
	// Etcd carries the TLS and credentials of the etcd client; its
	// Endpoints, when empty, are EtcdEndpoints.
	Etcd etcd.ClientConfig
	// Queue carries the brokers' TLS and SASL settings; its Brokers, when
	// empty, are Brokers.
	Queue queue.Config
	// GRPCOptions are the gRPC server's options: TLS credentials and the
	// join token check (internal/tlsconf); none serves plain text.
	GRPCOptions []grpc.ServerOption
	// Blobs is the blob store the leader deletes expired outputs and
	// uploads from (Scheduler's OutputTTL, AssetTTL, JobTTL); nil: no
	// expiry of outputs, uploads or job records.
	Blobs blob.Store
}

// Replica is one scheduler replica: its etcd client, Kafka consumer,
// elector and gRPC server (with grpc.health.v1).
type Replica struct {
	Scheduler *scheduler.Scheduler
	Addr      string
	Client    *clientv3.Client
	grpc      *grpc.Server
	health    *health.Server
	consumer  *queue.Consumer
	producer  *queue.Producer      // owned, when not shared
	errors    *errevents.Publisher // owned, when not shared
	cancel    context.CancelFunc
	done      chan struct{}
}

// StartReplica starts a scheduler replica; it campaigns for leadership in
// the background and serves workers on Listen.
func StartReplica(ctx context.Context, rc ReplicaConfig) (*Replica, error) {
	lis, err := net.Listen("tcp", rc.Listen)
	if err != nil {
		return nil, fmt.Errorf("scheduler listen: %w", err)
	}
	ec := rc.Etcd
	if len(ec.Endpoints) == 0 {
		ec.Endpoints = rc.EtcdEndpoints
	}
	cli, err := etcd.DialConfig(ctx, ec)
	if err != nil {
		lis.Close()
		return nil, err
	}
	r := &Replica{Client: cli, producer: nil, done: make(chan struct{})}
	fail := func(err error) (*Replica, error) {
		lis.Close()
		cli.Close()
		if r.producer != nil {
			r.producer.Close()
		}
		return nil, err
	}
	qc := rc.Queue
	if len(qc.Brokers) == 0 {
		qc.Brokers = rc.Brokers
	}
	pub := rc.Producer
	if pub == nil {
		if r.producer, err = queue.NewProducer(qc); err != nil {
			return fail(err)
		}
		pub = r.producer
	}
	errs := rc.Errors
	if errs == nil {
		if r.errors, err = errevents.NewPublisher(pub, errevents.DefaultConfig("scheduler")); err != nil {
			return fail(err)
		}
		errs = r.errors
	}
	cfg := rc.Scheduler
	if cfg.Advertise == "" {
		cfg.Advertise = lis.Addr().String()
	}
	sched, err := scheduler.New(cfg, scheduler.Deps{Store: jobstore.New(cli, jobstore.DefaultPrefix), Events: pub, Clock: rc.Clock,
		Errors: errs, Progress: rc.Progress, Notify: rc.Notify, Blobs: blobDeleter(rc.Blobs), Assets: assetStore(cli, rc.Blobs),
		DepthSink: func(ctx context.Context, n int) { _ = scheduler.PublishQueueDepth(ctx, cli, n) },
		EdgeSink:  func(ctx context.Context, b []byte) { _ = scheduler.PublishEdges(ctx, cli, b) }}, rc.Log)
	if err != nil {
		return fail(err)
	}
	if r.consumer, err = queue.NewConsumer(qc, "stickerd-scheduler", queue.TopicJobs); err != nil {
		return fail(err)
	}
	el := &scheduler.EtcdElector{Client: cli, Prefix: cfg.ElectionPrefix, TTL: cfg.ElectionTTL, Value: cfg.Advertise}
	r.Scheduler, r.Addr = sched, cfg.Advertise
	r.grpc = grpc.NewServer(rc.GRPCOptions...)
	scheduler.NewServer(sched, el.Leader).Register(r.grpc)
	r.health = health.NewServer()
	healthpb.RegisterHealthServer(r.grpc, r.health)
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(4)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				metrics.KafkaConsumerLag.WithLabelValues("stickerd-scheduler", queue.TopicJobs).Set(float64(r.consumer.Lag()))
			}
		}
	}()
	go func() { defer wg.Done(); _ = r.grpc.Serve(lis) }()
	go func() { defer wg.Done(); _ = sched.Run(rctx, el) }()
	go func() { defer wg.Done(); _ = r.consumer.Run(rctx, sched.Intake) }()
	go func() { wg.Wait(); close(r.done) }()
	return r, nil
}

// Ready reports whether the replica can reach etcd.
func (r *Replica) Ready(ctx context.Context) error {
	_, err := r.Client.Get(ctx, "health")
	return err
}

// Close stops the replica gracefully: it resigns leadership at once.
func (r *Replica) Close() {
	r.health.Shutdown()
	r.grpc.Stop()
	r.cancel()
	<-r.done
	r.consumer.Close()
	if r.errors != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r.errors.Close(ctx)
		cancel()
	}
	if r.producer != nil {
		r.producer.Close()
	}
	r.Client.Close()
}

// Kill stops a replica as a crash would: its gRPC server drops every
// stream, its etcd client goes away without resigning (the standby waits
// for the lease to expire), and its consumer stops without committing.
func (r *Replica) Kill() {
	r.grpc.Stop()
	r.Client.Close()
	r.cancel()
	<-r.done
	r.consumer.Close()
	if r.producer != nil {
		r.producer.Close()
	}
}
