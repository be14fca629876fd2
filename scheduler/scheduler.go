package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stickerd/stickerd/internal/backoff"
	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// Store is what the scheduler needs of the state store, in the job
// package's own types: *jobstore.Store (etcd) and *jobstore.Memory (tests)
// are two. Errors: jobstore.ErrNotFound, and jobstore.ErrUnavailable while
// the store cannot answer (the scheduler retries).
type Store interface {
	Get(ctx context.Context, id jobs.ID) (*jobs.Job, error)
	Update(ctx context.Context, id jobs.ID, fn func(*jobs.Job) error) (*jobs.Job, error)
	UpdateFrom(ctx context.Context, known *jobs.Job, fn func(*jobs.Job) error) (*jobs.Job, error)
	Scan(ctx context.Context, fn func(*jobs.Job) error) error
	ScanQueued(ctx context.Context, fn func(*jobs.Job) error) error
	WatchJobs(ctx context.Context, fromRevision int64) (<-chan jobs.Event, error)
	Revision(ctx context.Context) (int64, error)
}

var (
	_ Store = (*jobstore.Store)(nil)
	_ Store = (*jobstore.Memory)(nil)
)

// Publisher sends messages to Kafka topics.
type Publisher interface {
	Publish(ctx context.Context, topic string, key, value []byte) error
	PublishBatch(ctx context.Context, msgs []queue.Message) error
}

// Reporter publishes typed error events (internal/errevents.Publisher).
type Reporter interface {
	Report(ctx context.Context, e errevents.Event)
}

// ProgressPublisher fans fine-grained progress out (internal/sharedstate.Progress).
type ProgressPublisher interface {
	Publish(ctx context.Context, jobID string, progress float64) error
}

// Deps are the scheduler's collaborators, as the gateway's Deps are its
// own. Store is required; every other one is optional, nil meaning "not
// wired" (or, for Clock, the real clock).
type Deps struct {
	// Store holds the jobs.
	Store Store
	// Events publishes state changes (stickerd.render.events) and dead
	// letters.
	Events Publisher
	// Clock drives heartbeat timers, backoffs, the sweep and the gauges.
	Clock clock.Clock
	// Errors receives a typed error event for every job that fails, is
	// requeued after a lost worker, or is dead-lettered.
	Errors Reporter
	// Progress receives every progress report at once (the store gets
	// them throttled), for the gateways' event streams.
	Progress ProgressPublisher
	// Notify is told of every job that reached a terminal state
	// (webhooks); it must not block.
	Notify func(j *jobs.Job)
	// EdgeSink receives the live edges (a JSON list of EdgeInfo) once a
	// second, for gateways placing realtime sessions.
	EdgeSink func(ctx context.Context, edges []byte)
	// DepthSink receives the queue depth once a second, for gateways in
	// other processes (backpressure).
	DepthSink func(ctx context.Context, depth int)
	// Blobs deletes expired outputs (blob.Store); without it the leader
	// expires neither outputs nor job records (expiry.go).
	Blobs BlobDeleter
	// Assets lists and deletes uploads for their expiry; nil: none.
	Assets AssetStore
}

// Stats are counters for metrics and tests.
type Stats struct {
	Assigned, Completed, Failed, Canceled, Requeued, StaleRefused, WorkersLost, DeadLettered, Swept int64
	// Deposed counts writes refused, and timers not acted on, because this
	// replica's leadership term had ended.
	Deposed int64
}

// Scheduler is one replica. Only the elected leader dispatches; every
// replica takes jobs in from Kafka.
type Scheduler struct {
	cfg   Config
	deps  Deps
	store Store
	clock clock.Clock
	log   *slog.Logger

	mu           sync.Mutex
	leading      bool
	leaderCtx    context.Context
	q            *jobQueue
	workers      map[string]*worker
	assigning    map[jobs.ID]bool
	progress     map[jobs.ID]time.Time      // last progress write per job
	records      map[jobs.ID]*jobs.Job      // the record each running job was assigned with
	splits       map[jobs.ID]*splitProgress // split jobs' tasks' progress (split.go)
	releaseTimer clock.Timer                // fires when a backed-off job becomes ready
	wake         chan struct{}

	stats struct {
		assigned, completed, failed, canceled, requeued, stale, lost, dlq, swept, deposed atomic.Int64
	}
	events chan event
	edges  edgeRegistry
	// The announcement cursor's inputs (announce.go): the last revision
	// the watch has handled, the last one whose events were published,
	// the events between the two, and whether one was dropped this term.
	watched, published, inflight atomic.Int64
	dropped                      atomic.Bool
}

// New returns a scheduler replica. A nil log discards.
func New(cfg Config, deps Deps, log *slog.Logger) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil {
		return nil, errors.New("scheduler: Deps.Store is required")
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := deps.Clock
	return &Scheduler{cfg: cfg, deps: deps, store: deps.Store, clock: clk, log: log.With("component", "scheduler", "replica", cfg.ID),
		q: newQueue(), workers: map[string]*worker{}, assigning: map[jobs.ID]bool{}, progress: map[jobs.ID]time.Time{}, records: map[jobs.ID]*jobs.Job{},
		splits: map[jobs.ID]*splitProgress{}, wake: make(chan struct{}, 1), events: make(chan event, 8192),
		edges: edgeRegistry{clock: clk, ttl: cfg.HeartbeatTTL + cfg.HeartbeatGrace}}, nil
}

// Stats returns the counters so far.
func (s *Scheduler) Stats() Stats {
	return Stats{Assigned: s.stats.assigned.Load(), Completed: s.stats.completed.Load(), Failed: s.stats.failed.Load(),
		Canceled: s.stats.canceled.Load(), Requeued: s.stats.requeued.Load(), StaleRefused: s.stats.stale.Load(),
		WorkersLost: s.stats.lost.Load(), DeadLettered: s.stats.dlq.Load(), Swept: s.stats.swept.Load(), Deposed: s.stats.deposed.Load()}
}

// Leading reports whether this replica dispatches now.
func (s *Scheduler) Leading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading
}

// QueueDepth reports the jobs waiting for a worker (leader only).
func (s *Scheduler) QueueDepth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.len()
}

// Workers reports the connected workers' ids (leader only).
func (s *Scheduler) Workers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, w := range s.workers {
		if w.send != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// Lead dispatches until ctx ends: it rebuilds the queue from the store,
// then follows the store, sweeps for lost intake messages and places
// jobs. Run calls it each time this replica wins the election; a single
// replica deployment may call it directly.
func (s *Scheduler) Lead(ctx context.Context) error {
	rev, known, err := s.recover(ctx)
	if err != nil {
		return err
	}
	from, ann := s.announceFrom(ctx, rev, known)
	s.mu.Lock()
	s.leading, s.leaderCtx = true, ctx
	s.mu.Unlock()
	s.log.Info("leading", "revision", rev, "queued", s.QueueDepth())
	var wg sync.WaitGroup
	metrics.LeaderChanges.Inc()
	metrics.IsLeader.Set(1)
	defer metrics.IsLeader.Set(0)
	for _, f := range []func(context.Context){s.dispatchLoop, s.sweepLoop, s.publishLoop, s.gaugeLoop,
		func(ctx context.Context) { s.watchLoop(ctx, rev, from, ann) }} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); s.expiryLoop(ctx) }()
	go func() { defer wg.Done(); s.resumeSplits(s.fenced(ctx), known) }()
	s.poke()
	<-ctx.Done()
	s.stepDown()
	wg.Wait()
	return nil
}

// stepDown forgets the leader's state and drops every worker stream, so
// workers reconnect to the new leader.
func (s *Scheduler) stepDown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leading = false
	for id, w := range s.workers {
		s.dropLocked(id, w)
	}
	s.q = newQueue()
	s.assigning = map[jobs.ID]bool{}
	s.progress = map[jobs.ID]time.Time{}
	s.records = map[jobs.ID]*jobs.Job{}
	s.splits = map[jobs.ID]*splitProgress{}
	if s.releaseTimer != nil {
		s.releaseTimer.Stop()
	}
	s.log.Info("stepped down")
}

// recover rebuilds the leader's view from the store: queued jobs go into
// the queue; running jobs wait for their worker to re-register
// within the heartbeat TTL, or are requeued as lost.
func (s *Scheduler) recover(ctx context.Context) (int64, []*jobs.Job, error) {
	rev, err := s.store.Revision(ctx)
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var known []*jobs.Job // the jobs not ended, for the announcer
	err = s.store.Scan(ctx, func(j *jobs.Job) error {
		if !j.Status.Terminal() {
			known = append(known, j)
		}
		switch {
		case j.Status == jobs.Queued:
			s.q.push(j)
		case j.Status == jobs.Running && j.Worker != nil:
			w := s.workers[*j.Worker]
			if w == nil {
				w = &worker{id: *j.Worker, caps: &workerpb.Capabilities{}, running: map[jobs.ID]int64{}, closed: make(chan struct{})}
				s.workers[w.id] = w
				s.armLocked(w)
			}
			w.running[j.ID] = j.Fence
		}
		return nil
	})
	return rev, known, err
}

// poke wakes the dispatch loop.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// enqueue adds a queued job unless it is already waiting or being assigned.
func (s *Scheduler) enqueue(j *jobs.Job) {
	s.mu.Lock()
	ok := s.leading && j.Status == jobs.Queued && !s.assigning[j.ID] && s.q.push(j)
	s.mu.Unlock()
	if ok {
		s.poke()
	}
}

// retryStore retries f while the store is unavailable, with backoff, until
// ctx ends: a report or requeue must not be lost to a leader election.
func (s *Scheduler) retryStore(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !errors.Is(err, jobstore.ErrUnavailable) {
			return err
		}
		if s.clock.Sleep(ctx, storeRetry.Delay(attempt)) != nil {
			return err
		}
	}
}

// storeRetry spaces the retries of a write the store could not take.
var storeRetry = backoff.Policy{Initial: 50 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2, Jitter: 0.2}
