package scheduler

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// These tests run the scheduler on the in-memory store and a fake clock:
// no etcd, no Kafka, no sleeps. Time moves only by Advance; the tests wait
// for what the scheduler does (a message, a timer it arms), never for a
// while in the hope that something did not happen.

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// wait bounds every wait for an event: generous, since reaching it means
// the test failed.
const wait = 5 * time.Second

func testCfg(id string) Config {
	c := DefaultConfig()
	c.ID = id
	// DefaultConfig's timings: beats every 1s, lost after 5s + 1s grace +
	// up to 0.5s jitter; retries after 1s, 2s, …; a sweep every 2s for
	// jobs older than 3s.
	return c
}

// harness is one scheduler replica on a store and a clock it may share
// with other replicas.
type harness struct {
	t     *testing.T
	s     *Scheduler
	store Store
	clk   *clock.Fake
	ctx   context.Context
	lis   *bufconn.Listener // set by serve
}

func newHarness(t *testing.T, cfg Config, store Store, clk *clock.Fake) *harness {
	t.Helper()
	return newHarnessDeps(t, cfg, Deps{Store: store, Clock: clk})
}

// newHarnessDeps is newHarness with more collaborators wired.
func newHarnessDeps(t *testing.T, cfg Config, deps Deps) *harness {
	t.Helper()
	store, clk := deps.Store, deps.Clock.(*clock.Fake)
	s, err := New(cfg, deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &harness{t: t, s: s, store: store, clk: clk, ctx: ctx}
}

// lead makes the replica the leader (as a single replica deployment does)
// until the test ends.
func (h *harness) lead() {
	h.t.Helper()
	h.leadWith(h.ctx)
}

// leadWith is lead with a leader context of the test's, e.g. one that
// carries an election term.
func (h *harness) leadWith(parent context.Context) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	go func() { defer close(done); _ = h.s.Lead(ctx) }()
	h.t.Cleanup(func() { cancel(); <-done })
	h.leading()
}

// leading waits until the replica leads: its sweep and gauge tickers,
// which it starts once it has rebuilt its view, run (and advancing the
// clock drives them).
func (h *harness) leading() {
	h.t.Helper()
	now := h.clk.Now()
	h.waitTimerAt(now.Add(h.s.cfg.SweepInterval))
	h.waitTimerAt(now.Add(time.Second))
	if !h.s.Leading() {
		h.t.Fatal("the tickers run but the replica does not lead")
	}
}

// submit records a queued job created at created, as the gateway does.
func (h *harness) submit(id jobs.ID, created time.Time) *jobs.Job {
	h.t.Helper()
	j, err := h.store.(interface {
		Create(context.Context, *jobs.Job) (*jobs.Job, error)
	}).Create(h.ctx, &jobs.Job{ID: id, Tenant: "t1", Status: jobs.Queued, Priority: jobs.Normal,
		CreatedAt: created, Spec: []byte(`{"output":{"format":"mp4"}}`)})
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

func (h *harness) job(id jobs.ID) *jobs.Job {
	h.t.Helper()
	j, err := h.store.Get(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

// waitTimerAt waits until the scheduler has armed a timer due at at.
func (h *harness) waitTimerAt(at time.Time) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, wait)
	defer cancel()
	if err := h.clk.BlockUntilDeadline(ctx, at); err != nil {
		h.t.Fatalf("no timer armed for %v (armed: %v)", at, h.clk.Deadlines())
	}
}

// advanceTo moves the clock to at.
func (h *harness) advanceTo(at time.Time) { h.clk.Advance(at.Sub(h.clk.Now())) }

// direct is a worker that talks to the scheduler through its handlers,
// without a stream: every call has had its effect when it returns.
type direct struct {
	h    *harness
	w    *worker
	send chan *workerpb.SchedulerMessage
}

func (h *harness) register(id string, concurrency int32, running ...*workerpb.RunningJob) *direct {
	h.t.Helper()
	send := make(chan *workerpb.SchedulerMessage, 64)
	w, err := h.s.register(h.ctx, &workerpb.Register{WorkerId: id,
		Capabilities: &workerpb.Capabilities{Concurrency: concurrency}, Running: running}, send)
	if err != nil {
		h.t.Fatal(err)
	}
	return &direct{h: h, w: w, send: send}
}

func (d *direct) heartbeat() { d.h.s.heartbeat(d.w, &workerpb.Heartbeat{}) }

// next is the next message the scheduler sends the worker.
func (d *direct) next() *workerpb.SchedulerMessage {
	d.h.t.Helper()
	select {
	case m := <-d.send:
		return m
	case <-time.After(wait):
		d.h.t.Fatalf("worker %s: no message from the scheduler", d.w.id)
		return nil
	}
}

func (d *direct) assign() *workerpb.Assign {
	d.h.t.Helper()
	m := d.next()
	if m.GetAssign() == nil {
		d.h.t.Fatalf("worker %s got %v, want an assignment", d.w.id, m)
	}
	return m.GetAssign()
}

// idle checks that nothing was sent to the worker (call it once the
// scheduler has shown it is done deciding, e.g. by arming a timer).
func (d *direct) idle() {
	d.h.t.Helper()
	select {
	case m := <-d.send:
		d.h.t.Fatalf("worker %s got %v, want nothing", d.w.id, m)
	default:
	}
}

// serve puts the replica's gRPC server on an in-process listener, leader
// naming the leader's address for standbys' hints.
func (h *harness) serve(leader func(context.Context) string) {
	h.t.Helper()
	h.lis = bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	NewServer(h.s, leader).Register(g)
	go func() { _ = g.Serve(h.lis) }()
	h.t.Cleanup(g.Stop)
}

// remote is a worker on a real protocol stream to the replica.
type remote struct {
	t      *testing.T
	stream workerpb.Scheduler_ConnectClient
	in     chan *workerpb.SchedulerMessage
	err    chan error // the stream's end
	cancel context.CancelFunc
}

// connect opens a stream and sends Register; it does not wait for the
// answer.
func (h *harness) connect(id string, concurrency int32, running ...*workerpb.RunningJob) *remote {
	h.t.Helper()
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithCancel(h.ctx)
	h.t.Cleanup(cancel)
	stream, err := workerpb.NewSchedulerClient(conn).Connect(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	r := &remote{t: h.t, stream: stream, in: make(chan *workerpb.SchedulerMessage, 64), err: make(chan error, 1), cancel: cancel}
	var once sync.Once
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				once.Do(func() { r.err <- err })
				return
			}
			r.in <- m
		}
	}()
	// io.EOF: the server has ended the stream already (a standby); its
	// status comes from Recv.
	if err := stream.Send(&workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Register{Register: &workerpb.Register{
		WorkerId: id, Capabilities: &workerpb.Capabilities{Concurrency: concurrency}, Running: running}}}); err != nil && err != io.EOF {
		h.t.Fatal(err)
	}
	return r
}

func (r *remote) next() *workerpb.SchedulerMessage {
	r.t.Helper()
	select {
	case m := <-r.in:
		return m
	case err := <-r.err:
		r.t.Fatalf("the stream ended: %v", err)
	case <-time.After(wait):
		r.t.Fatal("no message from the scheduler")
	}
	return nil
}

func (r *remote) send(m *workerpb.WorkerMessage) {
	r.t.Helper()
	if err := r.stream.Send(m); err != nil {
		r.t.Fatal(err)
	}
}

// shared returns a fresh in-memory store and a fake clock at t0.
func shared() (*jobstore.Memory, *clock.Fake) { return jobstore.NewMemory(), clock.NewFake(t0) }
