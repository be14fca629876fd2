package worker

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/proto/workerpb"
	"github.com/stickerd/stickerd/render"
)

// These tests run a real worker against fake schedulers that speak the
// worker protocol over in-process gRPC (bufconn), on a fake clock: no
// ffmpeg, no etcd, no sleeps. Time moves only by Advance; the tests wait
// for messages and for the timers the worker arms.

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// wait bounds every wait for an event.
const wait = 5 * time.Second

const testSpec = `{"source":{"color":"#000000","width":64,"height":64,"duration":1},"stickers":[{"type":"image","builtin":"heart"}],"output":{"format":"mp4"}}`

// mode is how a fake scheduler answers a new stream.
type mode int

const (
	leading mode = iota // registers the worker
	standby             // refuses it, naming the leader in the trailer
	refuse              // ends the stream before registering, with no hint
)

// fakeScheduler is one scheduler address.
type fakeScheduler struct {
	workerpb.UnimplementedSchedulerServer
	mu    sync.Mutex
	mode  mode
	hint  string
	conns chan *conn // every stream, whatever its answer
}

// conn is one stream as the fake scheduler sees it.
type conn struct {
	reg  *workerpb.Register
	mode mode
	in   chan *workerpb.WorkerMessage    // from the worker
	out  chan *workerpb.SchedulerMessage // to the worker
	end  chan error                      // ends the stream with this status
}

func (f *fakeScheduler) set(m mode, hint string) {
	f.mu.Lock()
	f.mode, f.hint = m, hint
	f.mu.Unlock()
}

func (f *fakeScheduler) Connect(stream workerpb.Scheduler_ConnectServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	f.mu.Lock()
	m, hint := f.mode, f.hint
	f.mu.Unlock()
	c := &conn{reg: first.GetRegister(), mode: m, in: make(chan *workerpb.WorkerMessage, 256),
		out: make(chan *workerpb.SchedulerMessage, 16), end: make(chan error, 1)}
	f.conns <- c
	switch m {
	case standby:
		stream.SetTrailer(metadata.Pairs(workerpb.LeaderHeader, hint))
		return status.Error(codes.Unavailable, "not the leader")
	case refuse:
		return status.Error(codes.Unavailable, "refused")
	}
	if err := stream.Send(&workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Registered{Registered: &workerpb.Registered{
		HeartbeatIntervalMs: 1000, HeartbeatTtlMs: 5000}}}); err != nil {
		return err
	}
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				return
			}
			c.in <- m
		}
	}()
	for {
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case err := <-c.end:
			return err
		case m := <-c.out:
			if err := stream.Send(m); err != nil {
				return err
			}
		}
	}
}

// network is a set of fake scheduler addresses.
type network struct {
	t      *testing.T
	scheds map[string]*fakeScheduler
	lis    map[string]*bufconn.Listener
}

func newNetwork(t *testing.T, addrs ...string) *network {
	n := &network{t: t, scheds: map[string]*fakeScheduler{}, lis: map[string]*bufconn.Listener{}}
	for _, a := range addrs {
		f := &fakeScheduler{conns: make(chan *conn, 64)}
		lis := bufconn.Listen(1 << 20)
		g := grpc.NewServer()
		workerpb.RegisterSchedulerServer(g, f)
		go func() { _ = g.Serve(lis) }()
		t.Cleanup(g.Stop)
		n.scheds[a], n.lis[a] = f, lis
	}
	return n
}

func (n *network) dial(ctx context.Context, addr string) (net.Conn, error) {
	lis, ok := n.lis[addr]
	if !ok {
		return nil, errors.New("connection refused")
	}
	return lis.DialContext(ctx)
}

// accept waits for the next stream to addr.
func (n *network) accept(addr string) *conn {
	n.t.Helper()
	select {
	case c := <-n.scheds[addr].conns:
		return c
	case <-time.After(wait):
		n.t.Fatalf("the worker never connected to %s", addr)
		return nil
	}
}

// quiet checks that nothing connected to any address.
func (n *network) quiet() {
	n.t.Helper()
	for a, f := range n.scheds {
		select {
		case <-f.conns:
			n.t.Fatalf("the worker connected to %s too early", a)
		default:
		}
	}
}

// next is the worker's next message on the stream.
func (c *conn) next(t *testing.T) *workerpb.WorkerMessage {
	t.Helper()
	select {
	case m := <-c.in:
		return m
	case <-time.After(wait):
		t.Fatal("no message from the worker")
		return nil
	}
}

// report is the worker's next message that is not a heartbeat or progress.
func (c *conn) report(t *testing.T) *workerpb.WorkerMessage {
	t.Helper()
	for {
		m := c.next(t)
		if m.GetHeartbeat() == nil && m.GetProgress() == nil {
			return m
		}
	}
}

// heartbeat is the worker's next message, which must be a heartbeat
// (progress aside): a report sent before it fails the test.
func (c *conn) heartbeat(t *testing.T) *workerpb.Heartbeat {
	t.Helper()
	for {
		m := c.next(t)
		if m.GetProgress() != nil {
			continue
		}
		if m.GetHeartbeat() == nil {
			t.Fatalf("got %v, want a heartbeat", m)
		}
		return m.GetHeartbeat()
	}
}

func (c *conn) assign(id string, fence int64) {
	c.out <- &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Assign{Assign: &workerpb.Assign{
		JobId: id, Fence: fence, Spec: []byte(testSpec), Attempt: 1, Tenant: "t1"}}}
}

func (c *conn) ack(id string, fence int64) {
	c.out <- &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Ack{Ack: &workerpb.Ack{JobId: id, Fence: fence, Accepted: true}}}
}

// testRenderer renders in no time, or until canceled when block is set.
type testRenderer struct {
	started chan string // each job's output path as its render starts
	block   bool
	fail    error
}

func (r *testRenderer) Render(ctx context.Context, job render.Job) (*render.Result, error) {
	r.started <- job.Output
	if r.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if r.fail != nil {
		return nil, r.fail
	}
	if err := os.WriteFile(job.Output, []byte("test"), 0o644); err != nil {
		return nil, err
	}
	return &render.Result{Path: job.Output, Format: job.Spec.Output.Format, Bytes: 4, Encoder: render.EncoderChoice{Name: "test"}}, nil
}

func (r *testRenderer) Capabilities() render.Capabilities {
	return render.Capabilities{FFmpegVersion: "none", GPU: render.GPUNone}
}

// started waits until a render starts.
func (r *testRenderer) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.started:
	case <-time.After(wait):
		t.Fatal("no render started")
	}
}

// rig is a worker running on a fake clock against a network.
type rig struct {
	t   *testing.T
	w   *Worker
	clk *clock.Fake
	net *network
	r   *testRenderer
}

func testConfig(t *testing.T, schedulers ...string) Config {
	cfg := DefaultConfig()
	cfg.ID, cfg.Schedulers, cfg.Concurrency, cfg.WorkDir = "w1", schedulers, 2, t.TempDir()
	cfg.ReconnectMin, cfg.ReconnectMax, cfg.ReconnectJitter = 100*time.Millisecond, 300*time.Millisecond, 0
	cfg.ResendAfter = 3 * time.Second
	return cfg
}

func newRig(t *testing.T, cfg Config, n *network, r *testRenderer) *rig {
	t.Helper()
	clk := clock.NewFake(t0)
	w, err := New(cfg, Deps{Renderer: r, Blobs: blob.Dir{Root: t.TempDir()}, Clock: clk, Dial: n.dial}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, w: w, clk: clk, net: n, r: r}
}

// run starts the worker until the test ends.
func (g *rig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.w.Run(ctx) }()
	g.t.Cleanup(func() { cancel(); <-done })
}

// waitTimerAt waits until the worker arms a timer due at at.
func (g *rig) waitTimerAt(at time.Time) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := g.clk.BlockUntilDeadline(ctx, at); err != nil {
		g.t.Fatalf("no timer armed for %v (armed: %v)", at, g.clk.Deadlines())
	}
}

// session accepts the worker's stream to addr and waits until its
// heartbeat ticker runs, so that advancing the clock drives it.
func (g *rig) session(addr string) *conn {
	g.t.Helper()
	c := g.net.accept(addr)
	if c.mode != leading {
		g.t.Fatalf("the worker reached %s, which answers as mode %d", addr, c.mode)
	}
	c.heartbeat(g.t) // the first beat, at once
	g.waitTimerAt(g.clk.Now().Add(time.Second))
	return c
}

// acked waits until the worker has taken every acknowledgement in.
func (g *rig) acked() {
	g.t.Helper()
	deadline := time.After(wait)
	for {
		g.w.mu.Lock()
		n, ch := len(g.w.pending), g.w.changed
		g.w.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			g.t.Fatalf("%d reports still unacknowledged", n)
		}
	}
}

// errUnavailable ends a stream as a scheduler that goes away does.
var errUnavailable = status.Error(codes.Unavailable, "the scheduler went away")
