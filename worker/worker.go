package worker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/clock"
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

// Deps are the worker's collaborators, as the gateway's Deps are its own.
// Renderer and Blobs are required; the others are optional, nil meaning
// "not wired" (or the default).
type Deps struct {
	// Renderer renders jobs (*render.Engine).
	Renderer Renderer
	// Blobs holds uploaded assets and receives outputs.
	Blobs blob.Store
	// Clock drives heartbeats, resends, reconnect backoff and drain
	// bounds; nil: the real clock.
	Clock clock.Clock
	// Errors receives a typed error event for every failed render.
	Errors Reporter
	// Dial opens the connection to a scheduler address; nil: TCP. Tests
	// serve the protocol in process (bufconn).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// DialOptions are added to every connection to a scheduler: TLS
	// credentials and the join token (internal/tlsconf); none: plain text.
	DialOptions []grpc.DialOption
}

// Worker is one render worker agent.
type Worker struct {
	cfg   Config
	deps  Deps
	r     Renderer
	blobs blob.Store
	clock clock.Clock
	fetch *fetch.Fetcher
	log   *slog.Logger
	cpu   cpuMeter
	// scratch gives the engine local paths to blobs' assets.
	scratch *blob.Scratch

	mu       sync.Mutex
	tasks    map[jobs.ID]*task
	pending  map[jobs.ID]*pendingReport
	send     chan *workerpb.WorkerMessage // the live session's outbox; nil while disconnected
	draining bool
	killed   bool
	runCtx   context.Context
	kill     context.CancelFunc
	changed  chan struct{} // closed and replaced when a task ends or a report is acknowledged
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

// New returns a worker. A nil log discards.
func New(cfg Config, deps Deps, log *slog.Logger) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Renderer == nil || deps.Blobs == nil {
		return nil, errors.New("worker: Deps.Renderer and Deps.Blobs are required")
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// A folder per worker: workers of one process share WorkDir, and a
	// scratch cache clears its folder of an earlier run's files.
	scratch, err := blob.NewScratch(deps.Blobs,
		filepath.Join(cfg.WorkDir, "scratch", unsafeName.ReplaceAllString(cfg.ID, "_")), cfg.ScratchBytes)
	if err != nil {
		return nil, err
	}
	exportChains(cfg.ID, deps.Renderer.Capabilities())
	return &Worker{cfg: cfg, deps: deps, r: deps.Renderer, blobs: deps.Blobs, scratch: scratch, clock: deps.Clock,
		log:   log.With("component", "worker", "worker", cfg.ID),
		fetch: fetch.New(cfg.MaxDownloadBytes, 10*time.Minute, cfg.AllowPrivateURLs),
		tasks: map[jobs.ID]*task{}, pending: map[jobs.ID]*pendingReport{}, changed: make(chan struct{})}, nil
}

// unsafeName matches what a worker id may not carry into a folder name.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]|^\.+$`)

// Run keeps a session with the scheduler leader until ctx ends or Kill is
// called. It tries the configured addresses in turn; a standby's leader
// hint is followed at once, and every other failed try waits the
// reconnect backoff, which grows until a session registers.
func (w *Worker) Run(ctx context.Context) error {
	ctx, kill := context.WithCancel(ctx)
	w.mu.Lock()
	w.runCtx, w.kill = ctx, kill
	w.mu.Unlock()
	defer kill()
	policy := w.cfg.reconnect()
	failures, next := 0, 0
	hint := ""
	for ctx.Err() == nil {
		addr, viaHint := hint, hint != ""
		if !viaHint {
			addr = w.cfg.Schedulers[next%len(w.cfg.Schedulers)]
			next++
		}
		registered, h, err := w.session(ctx, addr)
		if ctx.Err() != nil {
			break
		}
		if registered {
			failures = 0
		}
		w.log.Debug("session ended", "scheduler", addr, "err", err, "leader_hint", h)
		hint = ""
		if h != "" && h != addr {
			hint = h
			if !viaHint {
				continue // go straight to the leader
			}
			// A hint that led to another hint (an election under way, two
			// standbys naming each other): follow it after the backoff,
			// so that it cannot become a busy loop.
		}
		failures++
		if w.clock.Sleep(ctx, policy.Delay(failures)) != nil {
			break
		}
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
// hands back those still running (the scheduler requeues them without
// counting the attempt), and waits, at most drainAckWait more, until the
// scheduler has acknowledged every report.
func (w *Worker) Drain(ctx context.Context) {
	w.mu.Lock()
	w.draining = true
	w.mu.Unlock()
	w.heartbeatNow()
	for {
		quiet, changed := w.quiet(false)
		if quiet {
			break
		}
		select {
		case <-ctx.Done():
			w.mu.Lock()
			for _, t := range w.tasks {
				t.handedBack = true
				t.cancel()
			}
			w.mu.Unlock()
			w.waitQuiet(drainAckWait)
			return
		case <-changed:
		}
	}
	w.waitQuiet(drainAckWait)
}

// drainAckWait bounds the wait for acknowledgements at the end of a drain.
const drainAckWait = 5 * time.Second

// quiet reports no running task (and, with reports, no unacked report),
// and a channel closed at the next change.
func (w *Worker) quiet(reports bool) (bool, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.tasks) == 0 && (!reports || len(w.pending) == 0), w.changed
}

// notifyLocked wakes whoever waits for a task to end or a report to be
// acknowledged.
func (w *Worker) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitQuiet waits until no task runs and every report is acknowledged, or d.
func (w *Worker) waitQuiet(d time.Duration) {
	t := w.clock.NewTimer(d)
	defer t.Stop()
	for {
		quiet, changed := w.quiet(true)
		if quiet {
			return
		}
		select {
		case <-changed:
		case <-t.C():
			return
		}
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
	caps.GpuChains = c.GPUChains
	return caps
}

func (w *Worker) dial(addr string) (*grpc.ClientConn, error) {
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, w.deps.DialOptions...)
	if w.deps.Dial != nil {
		// The address means something to Dial only: no name resolution.
		return grpc.NewClient("passthrough:///"+addr, append(opts, grpc.WithContextDialer(w.deps.Dial))...)
	}
	return grpc.NewClient(addr, opts...)
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
