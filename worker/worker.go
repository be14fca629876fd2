package worker

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/fetch"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/proto/workerpb"
	"github.com/stickerd/stickerd/render"
)

// Renderer is what the worker needs of the render engine.
type Renderer interface {
	Render(ctx context.Context, job render.Job) (*render.Result, error)
	Capabilities() render.Capabilities
}

// Reporter publishes typed error events (internal/errevents.Publisher).
type Reporter interface {
	Report(ctx context.Context, e errevents.Event)
}

// Worker is one render worker agent.
type Worker struct {
	// Errors, when set, receives a typed error event for every failed render.
	Errors Reporter

	cfg   Config
	r     Renderer
	blobs blob.Store
	fetch *fetch.Fetcher
	log   *slog.Logger
	cpu   cpuMeter

	mu       sync.Mutex
	tasks    map[jobs.ID]*task
	pending  map[jobs.ID]*pendingReport
	send     chan *workerpb.WorkerMessage // the live session's outbox; nil while disconnected
	draining bool
	killed   bool
	runCtx   context.Context
	kill     context.CancelFunc
	idle     chan struct{} // signalled whenever a task ends
}

type task struct {
	fence      int64
	cancel     context.CancelFunc
	canceled   bool // the scheduler asked for it
	handedBack bool // drained
	lastProg   time.Time
}

type pendingReport struct {
	msg    *workerpb.WorkerMessage
	fence  int64
	sentAt time.Time
}

// New returns a worker.
func New(cfg Config, r Renderer, blobs blob.Store, log *slog.Logger) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Worker{cfg: cfg, r: r, blobs: blobs, log: log.With("component", "worker", "worker", cfg.ID),
		fetch: fetch.New(cfg.MaxDownloadBytes, 10*time.Minute, cfg.AllowPrivateURLs),
		tasks: map[jobs.ID]*task{}, pending: map[jobs.ID]*pendingReport{}, idle: make(chan struct{}, 1)}, nil
}

// Run keeps a session with the scheduler leader until ctx ends or Kill is
// called, reconnecting with exponential backoff.
func (w *Worker) Run(ctx context.Context) error {
	ctx, kill := context.WithCancel(ctx)
	w.mu.Lock()
	w.runCtx, w.kill = ctx, kill
	w.mu.Unlock()
	defer kill()
	delay := w.cfg.ReconnectMin
	next := 0
	hint := ""
	for ctx.Err() == nil {
		addr := hint
		if addr == "" {
			addr = w.cfg.Schedulers[next%len(w.cfg.Schedulers)]
			next++
		}
		registered, h, err := w.session(ctx, addr)
		hint = h
		if ctx.Err() != nil {
			break
		}
		if registered {
			delay = w.cfg.ReconnectMin
		}
		w.log.Debug("session ended", "scheduler", addr, "err", err, "leader_hint", hint)
		if hint != "" && hint != addr {
			continue // go straight to the leader
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, w.cfg.ReconnectMax)
	}
	return nil
}

// Kill stops the worker abruptly, as a crash would: renders are stopped,
// nothing is reported, heartbeats end. Tests use it to lose a worker.
func (w *Worker) Kill() {
	w.mu.Lock()
	w.killed = true
	kill := w.kill
	for _, t := range w.tasks {
		t.cancel()
	}
	w.mu.Unlock()
	if kill != nil {
		kill()
	}
}

// Drain stops taking work, waits for the running renders until ctx ends,
// hands back those still running, and waits (bounded by ctx) until the
// scheduler has acknowledged every report.
func (w *Worker) Drain(ctx context.Context) {
	w.mu.Lock()
	w.draining = true
	w.mu.Unlock()
	w.heartbeatNow()
	for !w.quiet(false) {
		select {
		case <-ctx.Done():
			w.mu.Lock()
			for _, t := range w.tasks {
				t.handedBack = true
				t.cancel()
			}
			w.mu.Unlock()
			w.waitQuiet(5 * time.Second)
			return
		case <-w.idle:
		case <-time.After(100 * time.Millisecond):
		}
	}
	w.waitQuiet(5 * time.Second)
}

// quiet reports no running task (and, with reports, no unacked report).
func (w *Worker) quiet(reports bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.tasks) == 0 && (!reports || len(w.pending) == 0)
}

func (w *Worker) waitQuiet(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && !w.quiet(true) {
		time.Sleep(50 * time.Millisecond)
	}
}

// Running reports the ids of the jobs rendering now.
func (w *Worker) Running() []jobs.ID {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []jobs.ID
	for id := range w.tasks {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// held lists the jobs the scheduler must keep on this worker: running ones
// and those whose result is not yet acknowledged.
func (w *Worker) held() []*workerpb.RunningJob {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*workerpb.RunningJob
	for id, t := range w.tasks {
		out = append(out, &workerpb.RunningJob{JobId: string(id), Fence: t.fence})
	}
	for id, p := range w.pending {
		if _, ok := w.tasks[id]; !ok {
			out = append(out, &workerpb.RunningJob{JobId: string(id), Fence: p.fence})
		}
	}
	return out
}

func (w *Worker) capabilities() *workerpb.Capabilities {
	c := w.r.Capabilities()
	state := map[render.GPUState]workerpb.GPUState{
		render.GPUNone: workerpb.GPUState_GPU_STATE_NONE, render.GPUBroken: workerpb.GPUState_GPU_STATE_BROKEN,
		render.GPUCUDAOnly: workerpb.GPUState_GPU_STATE_CUDA, render.GPUCUDANVENC: workerpb.GPUState_GPU_STATE_CUDA_NVENC,
	}[c.GPU]
	caps := &workerpb.Capabilities{GpuState: state, GpuModel: c.GPUName, CpuCores: int32(runtime.NumCPU()),
		FfmpegVersion: c.FFmpegVersion, Concurrency: int32(w.cfg.Concurrency)}
	for _, e := range []string{"libx264", "h264_nvenc", "libvpx-vp9", "libwebp_anim"} {
		if c.Has(e) {
			caps.Encoders = append(caps.Encoders, e)
		}
	}
	if c.GPU == render.GPUCUDANVENC {
		caps.NvencSessionsFree = int32(w.cfg.Concurrency)
	}
	return caps
}

func dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

var errNoRegistered = errors.New("worker: the scheduler did not answer Register")

// leaderHint reads a standby's trailer naming the leader.
func leaderHint(stream grpc.ClientStream) string {
	if v := stream.Trailer().Get(workerpb.LeaderHeader); len(v) > 0 {
		return v[0]
	}
	return ""
}

// ID is the worker's id.
func (w *Worker) ID() string { return w.cfg.ID }
