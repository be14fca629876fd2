package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// A worker that stops beating is lost exactly when the clock passes its
// TTL plus grace (plus its jitter), not before; its job goes back to the
// queue with the retry backoff and is dispatched again only when that has
// passed, though another worker is free all along.
func TestHeartbeatLoss_RequeuesWithBackoff(t *testing.T) {
	mem, clk := shared()
	h := newHarness(t, testCfg("s"), mem, clk)
	h.lead()
	j := h.submit("job_lost", t0)
	a := h.register("a", 1)
	if as := a.assign(); as.GetJobId() != string(j.ID) || as.GetAttempt() != 1 {
		t.Fatalf("assignment %v", as)
	}
	b := h.register("b", 1) // free from now on, beating
	fence := h.job(j.ID).Fence

	h.clk.Advance(3 * time.Second)
	b.heartbeat()
	ttl := h.s.cfg.HeartbeatTTL + h.s.cfg.HeartbeatGrace
	h.advanceTo(t0.Add(ttl - time.Nanosecond))
	if got := h.job(j.ID); got.Status != jobs.Running || got.Fence != fence || h.s.Stats().WorkersLost != 0 {
		t.Fatalf("moved before TTL+grace: %s, lost %d", got.Status, h.s.Stats().WorkersLost)
	}
	h.advanceTo(t0.Add(ttl + h.s.cfg.HeartbeatJitter))
	got := h.job(j.ID)
	if got.Status != jobs.Queued || got.Error == nil || got.Error.Code != "WORKER_LOST" || got.Attempts != 1 || got.NotBefore == nil {
		t.Fatalf("after TTL+grace+jitter: %+v", got)
	}
	lostAt := got.NotBefore.Add(-h.s.cfg.BackoffBase) // the first retry waits BackoffBase
	if lostAt.Before(t0.Add(ttl)) || !lostAt.Before(t0.Add(ttl+h.s.cfg.HeartbeatJitter)) {
		t.Fatalf("lost at %v, want in [TTL+grace, +jitter) after %v", lostAt, t0)
	}
	if s := h.s.Stats(); s.WorkersLost != 1 || s.Requeued != 1 {
		t.Fatalf("stats %+v", s)
	}

	// The dispatcher has seen the job and armed its release: b stays idle.
	h.waitTimerAt(*got.NotBefore)
	b.idle()
	h.advanceTo(got.NotBefore.Add(-time.Nanosecond))
	b.idle()
	if st := h.job(j.ID).Status; st != jobs.Queued {
		t.Fatalf("dispatched before the backoff passed: %s", st)
	}
	h.clk.Advance(time.Nanosecond)
	as := b.assign()
	if as.GetJobId() != string(j.ID) || as.GetAttempt() != 2 || as.GetFence() == fence {
		t.Fatalf("second assignment %v (first fence %d)", as, fence)
	}
	if got := h.job(j.ID); got.Status != jobs.Running || *got.Worker != "b" || got.Attempts != 2 {
		t.Fatalf("after the backoff: %+v", got)
	}
}

// A report that carries the fencing token of an assignment that is no
// longer current (the worker was declared lost and the job runs
// elsewhere) is refused over the real protocol and changes nothing; the
// current assignment's report is accepted.
func TestStaleFence_RefusedAndChangesNothing(t *testing.T) {
	mem, clk := shared()
	h := newHarness(t, testCfg("s"), mem, clk)
	h.serve(nil)
	h.lead()
	j := h.submit("job_fenced", t0)

	a := h.connect("a", 1)
	if m := a.next(); m.GetRegistered() == nil {
		t.Fatalf("first message %v", m)
	}
	old := a.next().GetAssign()
	if old.GetJobId() != string(j.ID) {
		t.Fatalf("assignment %v", old)
	}
	// a goes silent: lost, and the job is requeued; b takes it after the
	// backoff.
	h.clk.Advance(h.s.cfg.HeartbeatTTL + h.s.cfg.HeartbeatGrace + h.s.cfg.HeartbeatJitter)
	requeued := h.job(j.ID)
	if requeued.Status != jobs.Queued {
		t.Fatalf("not requeued: %s", requeued.Status)
	}
	b := h.connect("b", 1)
	b.next() // Registered
	h.waitTimerAt(*requeued.NotBefore)
	h.advanceTo(*requeued.NotBefore)
	cur := b.next().GetAssign()
	if cur.GetJobId() != string(j.ID) || cur.GetFence() == old.GetFence() {
		t.Fatalf("b's assignment %v, a's fence %d", cur, old.GetFence())
	}
	before := h.job(j.ID)

	// a comes back, still rendering its old assignment: it is told to
	// cancel it, and its completion is refused.
	a2 := h.connect("a", 1, &workerpb.RunningJob{JobId: string(j.ID), Fence: old.GetFence()})
	a2.next() // Registered
	if c := a2.next().GetCancel(); c.GetJobId() != string(j.ID) || c.GetFence() != old.GetFence() {
		t.Fatalf("a's old assignment not canceled: %v", c)
	}
	a2.send(&workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Complete{Complete: &workerpb.Complete{
		JobId: string(j.ID), Fence: old.GetFence(), Output: &workerpb.Output{Key: "stale", Bytes: 1, Format: "mp4"}}}})
	ack := a2.next().GetAck()
	if ack.GetJobId() != string(j.ID) || ack.GetFence() != old.GetFence() || ack.GetAccepted() {
		t.Fatalf("stale completion answered %v, want a refusal", ack)
	}
	after := h.job(j.ID)
	if after.Revision != before.Revision || after.Status != jobs.Running || *after.Worker != "b" || after.Completions != 0 || after.Output != nil {
		t.Fatalf("a refused report changed the record: %+v", after)
	}
	if n := h.s.Stats().StaleRefused; n != 1 {
		t.Fatalf("stale refusals %d", n)
	}

	b.send(&workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Complete{Complete: &workerpb.Complete{
		JobId: string(j.ID), Fence: cur.GetFence(), Output: &workerpb.Output{Key: "good", Bytes: 1, Format: "mp4"}}}})
	if ack := b.next().GetAck(); !ack.GetAccepted() || ack.GetFence() != cur.GetFence() {
		t.Fatalf("current completion answered %v", ack)
	}
	if got := h.job(j.ID); got.Status != jobs.Succeeded || got.Completions != 1 || got.Output.Key != "good" || got.Attempts != 2 {
		t.Fatalf("job %+v", got)
	}
}

// blindStore hides some jobs from the scheduler's watch, as a lost Kafka
// message and a missed watch event would.
type blindStore struct {
	*jobstore.Memory
	blind map[jobs.ID]bool
}

func (b blindStore) WatchJobs(ctx context.Context, from int64) (<-chan jobs.Event, error) {
	in, err := b.Memory.WatchJobs(ctx, from)
	if err != nil {
		return nil, err
	}
	out := make(chan jobs.Event)
	go func() {
		defer close(out)
		for ev := range in {
			if b.blind[ev.Job.ID] {
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// The outbox sweep queues an accepted job the leader never heard of, once
// it is older than SweepAge, and leaves a younger one for a later sweep.
func TestSweep_PicksUpAcceptedJobNotSeen(t *testing.T) {
	mem, clk := shared()
	store := blindStore{Memory: mem, blind: map[jobs.ID]bool{"job_a_young": true, "job_b_old": true}}
	h := newHarness(t, testCfg("s"), store, clk)
	h.lead()
	// Accepted while the leader's intake was down: an old one and one
	// just now. The ids put the young one first in the sweep's scan.
	young := h.submit("job_a_young", t0)
	old := h.submit("job_b_old", t0.Add(-time.Minute))
	if n := h.s.QueueDepth(); n != 0 {
		t.Fatalf("queue depth %d before any sweep", n)
	}
	w := h.register("w", 2)
	h.clk.Advance(h.s.cfg.SweepInterval) // first sweep: cutoff t0-1s
	if as := w.assign(); as.GetJobId() != string(old.ID) {
		t.Fatalf("assigned %v, want the swept job", as)
	}
	// The sweep looked at the young job before the old one: it left it.
	if h.s.holds(young.ID) || h.s.Stats().Swept != 1 {
		t.Fatalf("the first sweep took the young job too (swept %d)", h.s.Stats().Swept)
	}
	h.clk.Advance(h.s.cfg.SweepInterval) // second sweep: cutoff t0+1s
	if as := w.assign(); as.GetJobId() != string(young.ID) {
		t.Fatalf("assigned %v, want the young job once it is old enough", as)
	}
	if n := h.s.Stats().Swept; n != 2 {
		t.Fatalf("swept %d jobs, want 2 (a running job is not swept again)", n)
	}
}

// handElector is an election the test runs: Campaign returns when the
// test grants leadership, and leadership ends when the test revokes it.
type handElector struct {
	addr      string
	board     *board
	grant     chan struct{}
	campaigns chan struct{} // a Campaign began: the replica does not lead

	mu     sync.Mutex
	revoke context.CancelFunc
}

// board is who leads now.
type board struct {
	mu     sync.Mutex
	leader string
}

func (b *board) get(context.Context) string { b.mu.Lock(); defer b.mu.Unlock(); return b.leader }

func (e *handElector) Campaign(ctx context.Context) (context.Context, error) {
	e.campaigns <- struct{}{}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.grant:
	}
	lctx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.revoke = cancel
	e.mu.Unlock()
	e.board.mu.Lock()
	e.board.leader = e.addr
	e.board.mu.Unlock()
	return lctx, nil
}

func (e *handElector) Leader(ctx context.Context) string { return e.board.get(ctx) }

func (e *handElector) resign() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.board.mu.Lock()
	e.board.leader = ""
	e.board.mu.Unlock()
	e.revoke()
}

func (h *harness) run(el Elector) {
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = h.s.Run(ctx, el) }()
	h.t.Cleanup(func() { cancel(); <-done })
}

// When leadership moves, the new leader rebuilds its queue from the store:
// queued jobs wait for workers, a running job stays with a worker that
// re-registers holding it, and one whose worker never comes back is
// requeued once the heartbeat TTL passes. The old leader sends workers to
// the new one.
func TestElection_NewLeaderRebuildsFromStore(t *testing.T) {
	mem, clk := shared()
	lb := &board{}
	ha, hb := newHarness(t, testCfg("a"), mem, clk), newHarness(t, testCfg("b"), mem, clk)
	ea := &handElector{addr: "sched-a", board: lb, grant: make(chan struct{}), campaigns: make(chan struct{}, 4)}
	eb := &handElector{addr: "sched-b", board: lb, grant: make(chan struct{}), campaigns: make(chan struct{}, 4)}
	ha.serve(ea.Leader)
	ha.run(ea)
	hb.run(eb)
	ea.grant <- struct{}{}
	ha.leading()

	j1 := ha.submit("job_1", t0)
	j2 := ha.submit("job_2", t0.Add(time.Millisecond))
	j3 := ha.submit("job_3", t0.Add(2*time.Millisecond))
	w1 := ha.register("w1", 1)
	if as := w1.assign(); as.GetJobId() != string(j1.ID) {
		t.Fatalf("w1 got %v", as)
	}
	w2 := ha.register("w2", 1)
	if as := w2.assign(); as.GetJobId() != string(j2.ID) {
		t.Fatalf("w2 got %v", as)
	}
	fence1, fence2 := ha.job(j1.ID).Fence, ha.job(j2.ID).Fence

	<-ea.campaigns // the first
	ea.resign()
	select {
	case <-ea.campaigns: // Lead returned: a stepped down
	case <-time.After(wait):
		t.Fatal("a never stepped down")
	}
	if ha.s.Leading() {
		t.Fatal("a campaigns again but still leads")
	}
	if n := ha.s.QueueDepth(); n != 0 || len(ha.s.Workers()) != 0 {
		t.Fatalf("the old leader kept %d queued and workers %v", n, ha.s.Workers())
	}
	eb.grant <- struct{}{}
	hb.leading()

	// A worker that reaches the old leader is sent to the new one.
	stray := ha.connect("w3", 1)
	select {
	case err := <-stray.err:
		if status.Code(err) != codes.Unavailable || stray.stream.Trailer().Get(workerpb.LeaderHeader)[0] != "sched-b" {
			t.Fatalf("the standby answered %v with trailer %v", err, stray.stream.Trailer())
		}
	case m := <-stray.in:
		t.Fatalf("the standby sent %v", m)
	case <-time.After(wait):
		t.Fatal("the standby did not answer")
	}

	// b's view, from the store alone.
	if n := hb.s.QueueDepth(); n != 1 {
		t.Fatalf("b's queue holds %d jobs, want job_3", n)
	}
	hb.s.mu.Lock()
	held1, held2 := hb.s.workers["w1"].running[j1.ID], hb.s.workers["w2"].running[j2.ID]
	hb.s.mu.Unlock()
	if held1 != fence1 || held2 != fence2 {
		t.Fatalf("b holds w1's job at fence %d (want %d) and w2's at %d (want %d)", held1, fence1, held2, fence2)
	}

	// w1 re-registers with b holding job_1, and with a free slot takes job_3.
	w1b := hb.register("w1", 2, &workerpb.RunningJob{JobId: string(j1.ID), Fence: fence1})
	if as := w1b.assign(); as.GetJobId() != string(j3.ID) {
		t.Fatalf("w1 got %v from the new leader, want job_3", as)
	}
	// w2 never comes back: lost after the TTL, counted from b's recovery.
	hb.clk.Advance(3 * time.Second)
	w1b.heartbeat()
	hb.clk.Advance(hb.s.cfg.HeartbeatTTL + hb.s.cfg.HeartbeatGrace + hb.s.cfg.HeartbeatJitter - 3*time.Second)
	if got := hb.job(j2.ID); got.Status != jobs.Queued || got.Error.Code != "WORKER_LOST" {
		t.Fatalf("w2's job after the TTL: %+v", got)
	}
	if got := hb.job(j1.ID); got.Status != jobs.Running || *got.Worker != "w1" || got.Fence != fence1 || got.Attempts != 1 {
		t.Fatalf("w1's job moved: %+v", got)
	}
	// Reports of the re-registered worker are accepted by the new leader.
	hb.s.complete(hb.ctx, w1b.w, &workerpb.Complete{JobId: string(j1.ID), Fence: fence1, Output: &workerpb.Output{Format: "mp4"}})
	if ack := w1b.next().GetAck(); !ack.GetAccepted() {
		t.Fatalf("completion after the handover answered %v", ack)
	}
}

// A job a draining worker hands back is requeued at once, without a
// backoff and without counting the attempt.
func TestReleased_HandedBackWithoutAttempt(t *testing.T) {
	mem, clk := shared()
	h := newHarness(t, testCfg("s"), mem, clk)
	h.lead()
	j := h.submit("job_drained", t0)
	a := h.register("a", 1)
	as := a.assign()
	h.s.heartbeat(a.w, &workerpb.Heartbeat{Draining: true})
	h.s.released(h.ctx, a.w, &workerpb.Released{JobId: as.GetJobId(), Fence: as.GetFence()})
	if ack := a.next().GetAck(); !ack.GetAccepted() {
		t.Fatalf("hand-back answered %v", ack)
	}
	got := h.job(j.ID)
	if got.Status != jobs.Queued || got.Attempts != 0 || got.NotBefore == nil || got.NotBefore.After(h.clk.Now()) {
		t.Fatalf("handed back: %+v", got)
	}
	b := h.register("b", 1)
	if as := b.assign(); as.GetJobId() != string(j.ID) || as.GetAttempt() != 1 {
		t.Fatalf("reassigned %v, want attempt 1", as)
	}
	a.idle() // draining: nothing more for a
}

// A store that cannot answer does not lose a report: the write is retried
// on the clock's backoff until it goes through.
func TestReport_RetriedWhileStoreUnavailable(t *testing.T) {
	mem, clk := shared()
	flaky := &flakyStore{Memory: mem, failures: 2}
	h := newHarness(t, testCfg("s"), flaky, clk)
	h.lead()
	j := h.submit("job_flaky", t0)
	a := h.register("a", 1)
	as := a.assign()
	armed := h.clk.Pending() // the tickers and a's heartbeat timer
	flaky.arm()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.s.complete(h.ctx, a.w, &workerpb.Complete{JobId: as.GetJobId(), Fence: as.GetFence(), Output: &workerpb.Output{Format: "mp4"}})
	}()
	for i := 1; i <= 2; i++ {
		// The retry waits on the clock: one more timer.
		ctx, cancel := context.WithTimeout(h.ctx, wait)
		if err := h.clk.BlockUntil(ctx, armed+1); err != nil {
			t.Fatalf("retry %d never waited (armed %v)", i, h.clk.Deadlines())
		}
		cancel()
		if st := h.job(j.ID).Status; st != jobs.Running {
			t.Fatalf("recorded while the store was down: %s", st)
		}
		h.clk.Advance(storeRetry.Delay(i) * 2) // past any jitter
	}
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("the completion was not recorded")
	}
	if ack := a.next().GetAck(); !ack.GetAccepted() {
		t.Fatalf("completion answered %v", ack)
	}
	if got := h.job(j.ID); got.Status != jobs.Succeeded {
		t.Fatalf("job %+v", got)
	}
}

// flakyStore answers ErrUnavailable to the next failures updates once armed.
type flakyStore struct {
	*jobstore.Memory
	mu       sync.Mutex
	armed    bool
	failures int
}

func (f *flakyStore) arm() { f.mu.Lock(); f.armed = true; f.mu.Unlock() }

func (f *flakyStore) fail() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.armed && f.failures > 0 {
		f.failures--
		return errors.Join(jobstore.ErrUnavailable, errors.New("test: no leader"))
	}
	return nil
}

func (f *flakyStore) Update(ctx context.Context, id jobs.ID, fn func(*jobs.Job) error) (*jobs.Job, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Memory.Update(ctx, id, fn)
}

func (f *flakyStore) UpdateFrom(ctx context.Context, known *jobs.Job, fn func(*jobs.Job) error) (*jobs.Job, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.Memory.UpdateFrom(ctx, known, fn)
}

// An assignment write that commits while its caller sees an error (etcd's
// leader changed while the write was in flight) is not left behind: the
// scheduler reads the record back, finds its own assignment, and sends it.
// Before, the job stayed running on a worker that never heard of it.
func TestAssign_AmbiguousWriteThatCommittedIsSent(t *testing.T) {
	mem, clk := shared()
	amb := &ambiguousStore{Memory: mem}
	h := newHarness(t, testCfg("s"), amb, clk)
	h.lead()
	j := h.submit("job_ambiguous", t0)
	amb.arm()
	a := h.register("a", 1)
	as := a.assign()
	got := h.job(j.ID)
	if as.GetJobId() != string(j.ID) || got.Status != jobs.Running || got.Fence != as.GetFence() || got.Attempts != 1 {
		t.Fatalf("assigned %v; record %+v", as, got)
	}
}

// ambiguousStore commits the next update once armed but answers
// ErrUnavailable, as a write that outlived its etcd leader does.
type ambiguousStore struct {
	*jobstore.Memory
	armed atomic.Bool
}

func (f *ambiguousStore) arm() { f.armed.Store(true) }

func (f *ambiguousStore) lie(j *jobs.Job, err error) (*jobs.Job, error) {
	if err == nil && f.armed.CompareAndSwap(true, false) {
		return nil, errors.Join(jobstore.ErrUnavailable, errors.New("test: context deadline exceeded"))
	}
	return j, err
}

func (f *ambiguousStore) Update(ctx context.Context, id jobs.ID, fn func(*jobs.Job) error) (*jobs.Job, error) {
	return f.lie(f.Memory.Update(ctx, id, fn))
}

func (f *ambiguousStore) UpdateFrom(ctx context.Context, known *jobs.Job, fn func(*jobs.Job) error) (*jobs.Job, error) {
	return f.lie(f.Memory.UpdateFrom(ctx, known, fn))
}

// A completion whose write committed while its caller saw an error is
// announced once (event and webhook, from the committed record) and the
// worker's resend is acknowledged as recorded, not refused as stale.
// Before, the job ended succeeded in the store with no event, no webhook,
// and a "stale completion refused" in the log.
func TestComplete_AmbiguousWriteAnnouncedFromTheRecord(t *testing.T) {
	mem, clk := shared()
	amb := &ambiguousStore{Memory: mem}
	pub := &capturePublisher{}
	var notified atomic.Int32
	h := newHarnessDeps(t, testCfg("s"), Deps{Store: amb, Clock: clk, Events: pub,
		Notify: func(j *jobs.Job) { notified.Add(1) }})
	h.lead()
	j := h.submit("job_amb_done", t0)
	a := h.register("a", 1)
	as := a.assign()
	complete := &workerpb.Complete{JobId: as.GetJobId(), Fence: as.GetFence(), Output: &workerpb.Output{Key: "outputs/t1/x.mp4", Format: "mp4"}}
	amb.arm()
	go h.s.complete(h.ctx, a.w, complete) // the first write commits, answers unavailable, and is retried on the clock
	armed := h.clk.Pending()
	ctx, cancel := context.WithTimeout(h.ctx, wait)
	defer cancel()
	if err := h.clk.BlockUntil(ctx, armed+1); err != nil {
		t.Fatal("the completion was not retried")
	}
	h.clk.Advance(storeRetry.Delay(1) * 2)
	if ack := a.next().GetAck(); !ack.GetAccepted() {
		t.Fatalf("the resend was answered %v, want accepted", ack)
	}
	h.s.complete(h.ctx, a.w, complete) // the worker's own resend, after a reconnect
	if ack := a.next().GetAck(); !ack.GetAccepted() {
		t.Fatalf("a second resend was answered %v, want accepted", ack)
	}
	if st := h.job(j.ID); st.Status != jobs.Succeeded || st.Completions != 1 {
		t.Fatalf("record %+v", st)
	}
	pub.waitFor(t, `"status":"succeeded"`, 1)
	if n := notified.Load(); n != 1 {
		t.Fatalf("webhook notified %d times, want 1", n)
	}
	if s := h.s.Stats(); s.StaleRefused != 0 {
		t.Fatalf("stale refusals %d", s.StaleRefused)
	}
}

// capturePublisher keeps what the scheduler publishes.
type capturePublisher struct {
	mu   sync.Mutex
	msgs []queue.Message
}

func (p *capturePublisher) Publish(ctx context.Context, topic string, key, value []byte) error {
	return p.PublishBatch(ctx, []queue.Message{{Topic: topic, Key: key, Value: value}})
}

func (p *capturePublisher) PublishBatch(_ context.Context, msgs []queue.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
	return nil
}

// waitFor waits until exactly n published values contain substr (and
// fails when more arrive or the wait runs out).
func (p *capturePublisher) waitFor(t *testing.T, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		p.mu.Lock()
		got := 0
		for _, m := range p.msgs {
			if strings.Contains(string(m.Value), substr) {
				got++
			}
		}
		p.mu.Unlock()
		if got > n {
			t.Fatalf("%d events with %s, want %d", got, substr, n)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events with %s after %s, want %d", got, substr, wait, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A leader paused past its lease wakes to heartbeat timers that fired
// while it slept. It changes nothing: it asks the store whether its term
// holds before acting on them, and even when that answer is wrong (the
// term ends between the check and the write) every write it makes is
// fenced by its term and refused. Before, it declared the worker lost and
// requeued its job on the strength of its stale view.
func TestDeposedLeader_ChangesNothingWhenItWakes(t *testing.T) {
	for _, tt := range []struct {
		name string
		// lies makes the lease check answer "still leading" regardless.
		lies bool
	}{
		{"the lease check stops it", false},
		{"the fence stops it when the check is wrong", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mem, clk := shared()
			var store Store = mem
			if tt.lies {
				store = &lyingTerms{Memory: mem}
			}
			h := newHarness(t, testCfg("s"), store, clk)
			h.leadWith(jobstore.WithTerm(h.ctx, mem.Elect("leader")))
			j := h.submit("job_paused_leader", t0)
			a := h.register("a", 1)
			as := a.assign()
			before := h.job(j.ID)

			// Paused past its lease: the term ends, another replica wins.
			mem.EndTerm("leader")
			mem.Elect("leader")
			ttl := h.s.cfg.HeartbeatTTL + h.s.cfg.HeartbeatGrace + h.s.cfg.HeartbeatJitter
			h.advanceTo(t0.Add(ttl)) // a's heartbeat timer fires on waking
			h.s.complete(h.ctx, a.w, &workerpb.Complete{JobId: as.GetJobId(), Fence: as.GetFence(),
				Output: &workerpb.Output{Key: "outputs/t1/x.mp4", Format: "mp4"}})
			h.s.progressReport(h.ctx, &workerpb.Progress{JobId: as.GetJobId(), Fence: as.GetFence(), Progress: 0.5})

			after := h.job(j.ID)
			if after.Revision != before.Revision || after.Status != jobs.Running || after.Fence != before.Fence {
				t.Fatalf("the deposed leader wrote: before %+v, after %+v", before, after)
			}
			st := h.s.Stats()
			if st.Deposed == 0 || st.Requeued != 0 || st.Completed != 0 {
				t.Fatalf("stats %+v: want refusals, no requeue, no completion", st)
			}
			if !tt.lies && st.WorkersLost != 0 {
				t.Fatalf("declared %d workers lost after its term ended", st.WorkersLost)
			}
		})
	}
}

// lyingTerms says every term still holds.
type lyingTerms struct{ *jobstore.Memory }

func (lyingTerms) TermValid(context.Context, jobstore.Term) (bool, error) { return true, nil }

// A state change that a leader committed but did not announce before it
// went away is announced by the next leader, once; what the first leader
// announced is not announced again. The leader keeps an announcement
// cursor in the store, and a new term's watch starts from it.
func TestAnnouncements_NewLeaderAnnouncesWhatTheOldOneLeft(t *testing.T) {
	mem, clk := shared()
	pubA, pubB := &capturePublisher{}, &capturePublisher{}
	a := newHarnessDeps(t, testCfg("a"), Deps{Store: mem, Clock: clk, Events: pubA})
	actx, stopA := context.WithCancel(a.ctx)
	aDone := make(chan struct{})
	go func() { defer close(aDone); _ = a.s.Lead(actx) }()
	a.leading()
	j1 := a.submit("job_announced", t0)
	w := a.register("w", 1)
	as := w.assign()
	a.s.complete(a.ctx, w.w, &workerpb.Complete{JobId: as.GetJobId(), Fence: as.GetFence(), Output: &workerpb.Output{Key: "k", Format: "mp4"}})
	pubA.waitFor(t, `"status":"succeeded"`, 1)
	done := a.job(j1.ID)
	// The sweep tick records the cursor.
	for cur := int64(0); cur < done.Revision; {
		a.clk.Advance(a.s.cfg.SweepInterval)
		var err error
		if cur, err = mem.Cursor(a.ctx, cursorName); err != nil {
			t.Fatal(err)
		}
		if cur < done.Revision {
			time.Sleep(time.Millisecond) // the sweep runs on its own goroutine
		}
	}
	stopA()
	<-aDone

	// The old leader's last writes, committed but never announced.
	j2 := a.submit("job_unannounced", t0)
	now := clk.Now()
	if _, err := mem.Update(a.ctx, j2.ID, func(j *jobs.Job) error {
		if err := j.Assign("w", j.Revision, now); err != nil {
			return err
		}
		return j.Succeed(j.Revision, jobs.Output{Key: "k2", Format: "mp4"}, now)
	}); err != nil {
		t.Fatal(err)
	}

	b := newHarnessDeps(t, testCfg("b"), Deps{Store: mem, Clock: clk, Events: pubB})
	b.lead()
	pubB.waitFor(t, `"job_id":"job_unannounced","tenant":"t1","status":"succeeded"`, 1)
	pubB.mu.Lock()
	defer pubB.mu.Unlock()
	for _, m := range pubB.msgs {
		if strings.Contains(string(m.Value), string(j1.ID)) {
			t.Fatalf("the new leader announced %s again: %s", j1.ID, m.Value)
		}
	}
}
