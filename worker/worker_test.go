package worker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// Draining stops new work at once (an assignment is handed straight back),
// beats with draining set, and when the drain deadline passes hands back
// the renders still running: Released, not canceled and not failed, so the
// scheduler requeues them without counting the attempt. Drain returns only
// once the scheduler has acknowledged them.
func TestDrain_HandsBackRunningJobs(t *testing.T) {
	n := newNetwork(t, "s1")
	g := newRig(t, testConfig(t, "s1"), n, &testRenderer{started: make(chan string, 4), block: true})
	g.run()
	c := g.session("s1")
	c.assign("job_long", 7)
	g.r.wait(t)

	ctx, cancel := context.WithCancel(context.Background())
	drained := make(chan struct{})
	go func() { defer close(drained); g.w.Drain(ctx) }()
	if hb := c.heartbeat(t); !hb.GetDraining() {
		t.Fatalf("heartbeat %v, want draining", hb)
	}
	c.assign("job_new", 8)
	back := c.report(t).GetReleased()
	if back.GetJobId() != "job_new" || back.GetFence() != 8 || back.GetCanceled() {
		t.Fatalf("an assignment while draining got %v, want it handed back", back)
	}
	c.ack("job_new", 8)

	cancel() // the drain deadline
	back = c.report(t).GetReleased()
	if back.GetJobId() != "job_long" || back.GetFence() != 7 || back.GetCanceled() {
		t.Fatalf("the running job came back as %v, want handed back (not canceled, not failed)", back)
	}
	select {
	case <-drained:
		t.Fatal("Drain returned before the hand-back was acknowledged")
	default:
	}
	c.ack("job_long", 7)
	select {
	case <-drained:
	case <-time.After(wait):
		t.Fatal("Drain did not return after the acknowledgement")
	}
	if ids := g.w.Running(); len(ids) != 0 {
		t.Fatalf("still running %v", ids)
	}
	select {
	case <-g.r.started:
		t.Fatal("a job was rendered while draining")
	default:
	}
}

// A drain whose jobs finish in time reports them as usual.
func TestDrain_FinishesInTime(t *testing.T) {
	n := newNetwork(t, "s1")
	g := newRig(t, testConfig(t, "s1"), n, &testRenderer{started: make(chan string, 4)})
	g.run()
	c := g.session("s1")
	c.assign("job_short", 3)
	done := c.report(t).GetComplete()
	if done.GetJobId() != "job_short" {
		t.Fatalf("report %v", done)
	}
	drained := make(chan struct{})
	go func() { defer close(drained); g.w.Drain(context.Background()) }()
	c.heartbeat(t)
	c.ack("job_short", 3)
	select {
	case <-drained:
	case <-time.After(wait):
		t.Fatal("Drain did not return")
	}
}

// A result is sent again every ResendAfter until the scheduler
// acknowledges it, and never after.
func TestReport_ResentUntilAcknowledged(t *testing.T) {
	tests := []struct {
		name string
		fail error
		kind string
	}{
		{"complete", nil, "complete"},
		{"fail", errcode.New(errcode.Internal, "boom"), "fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNetwork(t, "s1")
			g := newRig(t, testConfig(t, "s1"), n, &testRenderer{started: make(chan string, 4), fail: tt.fail})
			g.run()
			c := g.session("s1")
			c.assign("job_1", 5)
			first := c.report(t)
			if kind(first) != tt.kind || reportFence(first) != 5 {
				t.Fatalf("report %v, want %s", first, tt.kind)
			}
			if tt.fail != nil && !first.GetFail().GetRetryable() {
				t.Fatalf("an internal failure is not retryable: %v", first)
			}
			// Heartbeats every second; the report waits 3s for its Ack.
			for tick := 1; tick <= 2; tick++ {
				g.clk.Advance(time.Second)
				c.heartbeat(t) // and nothing before it
			}
			g.clk.Advance(time.Second)
			if again := c.report(t); kind(again) != tt.kind || reportFence(again) != 5 {
				t.Fatalf("resent %v", again)
			}
			c.heartbeat(t)
			c.ack("job_1", 5)
			g.acked()
			for tick := 1; tick <= 4; tick++ {
				g.clk.Advance(time.Second)
				c.heartbeat(t) // a re-send would come before it
			}
		})
	}
}

// A result still unacknowledged when the stream breaks is declared on
// Register and sent again on the next session, after the reconnect
// backoff.
func TestReport_ResentAfterReconnect(t *testing.T) {
	n := newNetwork(t, "s1")
	g := newRig(t, testConfig(t, "s1"), n, &testRenderer{started: make(chan string, 4)})
	g.run()
	c := g.session("s1")
	c.assign("job_1", 9)
	if r := c.report(t); r.GetComplete() == nil {
		t.Fatalf("report %v", r)
	}
	c.end <- errUnavailable
	g.waitTimerAt(g.clk.Now().Add(100 * time.Millisecond))
	n.quiet()
	g.clk.Advance(100 * time.Millisecond)
	c2 := n.accept("s1")
	if rs := c2.reg.GetRunning(); len(rs) != 1 || rs[0].GetJobId() != "job_1" || rs[0].GetFence() != 9 {
		t.Fatalf("Register declared %v, want the unacknowledged job", rs)
	}
	if r := c2.report(t); r.GetComplete().GetJobId() != "job_1" {
		t.Fatalf("first report on the new session %v", r)
	}
	c2.ack("job_1", 9)
	g.acked()
}

// A standby's leader hint is followed at once; every other failed try
// waits the reconnect backoff, which doubles up to ReconnectMax and starts
// again after a session registers.
func TestReconnect_FollowsLeaderHintWithBackoff(t *testing.T) {
	n := newNetwork(t, "standby", "leader")
	n.scheds["standby"].set(standby, "leader")
	g := newRig(t, testConfig(t, "standby"), n, &testRenderer{started: make(chan string, 4)})
	g.run()
	if c := n.accept("standby"); c.mode != standby {
		t.Fatal("not the standby")
	}
	c := g.session("leader") // no clock advance: straight to the hinted leader

	// The leader goes away, and while it is down refuses the worker.
	n.scheds["leader"].set(refuse, "")
	c.end <- errUnavailable
	for _, delay := range []time.Duration{100, 200, 300, 300} { // ms: doubling, capped
		d := delay * time.Millisecond
		g.waitTimerAt(g.clk.Now().Add(d))
		n.quiet()
		g.clk.Advance(d - time.Nanosecond)
		n.quiet()
		g.clk.Advance(time.Nanosecond)
		n.accept("standby")
		if c := n.accept("leader"); c.mode != refuse {
			t.Fatal("the leader did not refuse")
		}
	}
	// Back up: the worker registers, and the next loss waits the first
	// delay again.
	n.scheds["leader"].set(leading, "")
	g.waitTimerAt(g.clk.Now().Add(300 * time.Millisecond))
	g.clk.Advance(300 * time.Millisecond)
	n.accept("standby")
	c = g.session("leader")
	c.end <- errUnavailable
	g.waitTimerAt(g.clk.Now().Add(100 * time.Millisecond))
}

// Two standbys that name each other (an election under way) do not make
// the worker spin: the second hint waits the backoff.
func TestReconnect_HintLoopBacksOff(t *testing.T) {
	n := newNetwork(t, "a", "b")
	n.scheds["a"].set(standby, "b")
	n.scheds["b"].set(standby, "a")
	g := newRig(t, testConfig(t, "a"), n, &testRenderer{started: make(chan string, 4)})
	g.run()
	n.accept("a")
	n.accept("b")
	g.waitTimerAt(g.clk.Now().Add(100 * time.Millisecond))
	n.quiet()
	g.clk.Advance(100 * time.Millisecond)
	n.accept("a") // the hint from b, after the backoff
}

func reportFence(m *workerpb.WorkerMessage) int64 {
	switch {
	case m.GetComplete() != nil:
		return m.GetComplete().GetFence()
	case m.GetFail() != nil:
		return m.GetFail().GetFence()
	}
	return m.GetReleased().GetFence()
}

// Every attempt stores its output under its own fencing token, and a
// completion the scheduler refuses (the job moved on while this worker was
// paused) has its output removed; the accepted attempt's file is never
// touched. Before, both attempts wrote the job's one output name, so a
// late attempt replaced the output the record describes.
func TestOutput_PerAttemptAndRemovedWhenRefused(t *testing.T) {
	n := newNetwork(t, "s1")
	dir := t.TempDir()
	g := newRig(t, testConfig(t, "s1"), n, &testRenderer{started: make(chan string, 4)})
	g.w.blobs = blob.Dir{Root: dir}
	g.run()
	c := g.session("s1")
	c.assign("job_1", 5)
	accepted := c.report(t).GetComplete().GetOutput().GetKey()
	c.ack("job_1", 5)
	g.acked()
	c.assign("job_1", 8) // a later attempt of the same job on this worker
	late := c.report(t).GetComplete().GetOutput().GetKey()
	if accepted == late || !strings.Contains(accepted, "job_1-5.") || !strings.Contains(late, "job_1-8.") {
		t.Fatalf("output keys %q and %q: want one per fencing token", accepted, late)
	}
	c.out <- &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Ack{Ack: &workerpb.Ack{JobId: "job_1", Fence: 8, Accepted: false}}}
	g.acked()
	deadline := time.Now().Add(wait)
	for {
		_, err := os.Stat(filepath.Join(dir, late))
		if os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refused attempt's output %s is still there (%v)", late, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, accepted)); err != nil {
		t.Fatalf("the accepted output is gone: %v", err)
	}
}
