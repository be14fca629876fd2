package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// splitHarness is a leader with two workers, blobs and a count of the
// webhooks (terminal notifications) per record.
type splitHarness struct {
	*harness
	blobs    *fakeBlobs
	a, b     *direct
	mu       sync.Mutex
	notified map[jobs.ID]int
	errors   []errevents.Event
}

// Report records a typed error event (Deps.Errors).
func (sh *splitHarness) Report(_ context.Context, e errevents.Event) {
	sh.mu.Lock()
	sh.errors = append(sh.errors, e)
	sh.mu.Unlock()
}

func newSplitHarness(t *testing.T) *splitHarness {
	mem, clk := shared()
	sh := &splitHarness{blobs: newFakeBlobs(), notified: map[jobs.ID]int{}}
	sh.harness = newHarnessDeps(t, testCfg("s"), Deps{Store: mem, Clock: clk, Blobs: sh.blobs, Errors: sh, Notify: func(j *jobs.Job) {
		sh.mu.Lock()
		sh.notified[j.ID]++
		sh.mu.Unlock()
	}})
	sh.lead()
	sh.a, sh.b = sh.register("a", 2), sh.register("b", 2)
	return sh
}

// splitJob submits a job, takes its assignment (on a) and answers it with
// a split into parts of weights; it returns the job and the parts'
// assignments by index.
func (sh *splitHarness) splitJob(id jobs.ID, weights ...float64) (*jobs.Job, map[int]*workerpb.Assign) {
	sh.t.Helper()
	j := sh.submit(id, t0)
	as := sh.anyAssign()
	if as.GetJobId() != string(id) || as.GetWorkers() != 2 || as.GetSplitMinSeconds() != 20 {
		sh.t.Fatalf("assignment %v: want the job, 2 workers, split over 20s", as)
	}
	planner := sh.workerOf(as)
	sh.s.split(sh.ctx, planner.w, &workerpb.Split{JobId: string(id), Fence: as.GetFence(), Plan: []byte(`{"parts":"the engine's"}`),
		Summary: []byte(`{"mode":"split","segments":2}`), Weights: weights})
	parts := map[int]*workerpb.Assign{}
	acked := false
	for len(parts) < len(weights) || !acked {
		var m *workerpb.SchedulerMessage
		select {
		case m = <-sh.a.send:
		case m = <-sh.b.send:
		case <-time.After(wait):
			sh.t.Fatalf("%d of %d parts assigned, split acknowledged: %v", len(parts), len(weights), acked)
		}
		if ack := m.GetAck(); ack != nil {
			if !ack.GetAccepted() || ack.GetJobId() != string(id) {
				sh.t.Fatalf("split answered %v, want an accepted ack", ack)
			}
			acked = true
			continue
		}
		p := m.GetAssign()
		if p == nil || p.GetTask() != jobs.TaskPart || p.GetParentId() != string(id) || string(p.GetPlan()) != `{"parts":"the engine's"}` {
			sh.t.Fatalf("part assignment %v", p)
		}
		parts[int(p.GetPart())] = p
	}
	return j, parts
}

// anyAssign is the next assignment to either worker.
func (sh *splitHarness) anyAssign() *workerpb.Assign {
	sh.t.Helper()
	var m *workerpb.SchedulerMessage
	select {
	case m = <-sh.a.send:
	case m = <-sh.b.send:
	case <-time.After(wait):
		sh.t.Fatal("no assignment")
	}
	if m.GetAssign() == nil {
		sh.t.Fatalf("got %v, want an assignment", m)
	}
	return m.GetAssign()
}

// workerOf is the direct worker an assignment went to.
func (sh *splitHarness) workerOf(a *workerpb.Assign) *direct {
	if j := sh.job(jobs.ID(a.GetJobId())); j.Worker != nil && *j.Worker == "b" {
		return sh.b
	}
	return sh.a
}

func (sh *splitHarness) completePart(p *workerpb.Assign) string {
	sh.t.Helper()
	key := fmt.Sprintf("parts/t1/%s/%d-%d.ts", p.GetParentId(), p.GetPart(), p.GetFence())
	sh.blobs.mu.Lock()
	sh.blobs.stored[key] = true
	sh.blobs.mu.Unlock()
	d := sh.workerOf(p)
	sh.s.complete(sh.ctx, d.w, &workerpb.Complete{JobId: p.GetJobId(), Fence: p.GetFence(), Output: &workerpb.Output{Key: key, Bytes: 10}})
	if ack := d.next().GetAck(); ack == nil || !ack.GetAccepted() {
		sh.t.Fatalf("part completion answered %v", ack)
	}
	return key
}

// eventually waits for cond, which the scheduler's watch makes true.
func (sh *splitHarness) eventually(what string, cond func() bool) {
	sh.t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			sh.t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (sh *splitHarness) gone(id jobs.ID) bool {
	_, err := sh.store.Get(sh.ctx, id)
	return err != nil
}

// TestSplit_PartRetriedAloneJobEndsOnceAfterTheStitch: a job split in two
// parts; one part's attempt fails, is reported as a typed error event, and
// is retried alone (the other part's record untouched); once both succeed the stitch is queued with their
// files in plan order, and its success ends the job, once, with its
// output; the tasks' records and the parts' files are removed, the output
// kept, and no task is ever announced.
func TestSplit_PartRetriedAloneJobEndsOnceAfterTheStitch(t *testing.T) {
	sh := newSplitHarness(t)
	j, parts := sh.splitJob("job_split", 0.4, 0.6)
	if got := sh.job(j.ID); got.Status != jobs.Running || got.Worker != nil || got.Split == nil || string(got.Plan) != `{"mode":"split","segments":2}` {
		t.Fatalf("split job: %+v", got)
	}
	p0 := sh.job(jobs.ID(parts[0].GetJobId()))
	key0 := sh.completePart(parts[0])

	// Part 1's first attempt fails; it is retried after the backoff, alone.
	d1 := sh.workerOf(parts[1])
	sh.s.fail(sh.ctx, d1.w, &workerpb.Fail{JobId: parts[1].GetJobId(), Fence: parts[1].GetFence(), Code: "FFMPEG_FAILED", Message: "boom", Retryable: true})
	d1.next() // its ack
	retry := sh.job(jobs.ID(parts[1].GetJobId()))
	if retry.Status != jobs.Queued || retry.NotBefore == nil {
		t.Fatalf("failed part: %+v", retry)
	}
	sh.waitTimerAt(*retry.NotBefore)
	sh.advanceTo(*retry.NotBefore)
	again := sh.anyAssign()
	if again.GetJobId() != parts[1].GetJobId() || again.GetAttempt() != 2 || again.GetFence() == parts[1].GetFence() {
		t.Fatalf("retry %v", again)
	}
	sh.eventually("the part's error is reported", func() bool {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		for _, e := range sh.errors {
			if e.JobID == parts[1].GetJobId() && e.Code == "FFMPEG_FAILED" {
				return true
			}
		}
		return false
	})
	if now := sh.job(p0.ID); now.Revision == p0.Revision || now.Status != jobs.Succeeded || now.Attempts != 1 {
		t.Fatalf("the succeeded part changed with its sibling's retry: %+v", now)
	}
	if sh.job(j.ID).Split.Stitching {
		t.Fatal("stitching before every part succeeded")
	}
	key1 := sh.completePart(again)

	// The stitch.
	st := sh.anyAssign()
	if st.GetTask() != jobs.TaskStitch || st.GetJobId() != string(jobs.StitchID(j.ID)) || strings.Join(st.GetPartKeys(), ",") != key0+","+key1 {
		t.Fatalf("stitch %v, want parts %s,%s", st, key0, key1)
	}
	if got := sh.job(j.ID); got.Status != jobs.Running {
		t.Fatalf("job %s before its stitch ended", got.Status)
	}
	outKey := "outputs/t1/job_split-99.mp4"
	sh.blobs.mu.Lock()
	sh.blobs.stored[outKey] = true
	sh.blobs.mu.Unlock()
	ds := sh.workerOf(st)
	sh.s.complete(sh.ctx, ds.w, &workerpb.Complete{JobId: st.GetJobId(), Fence: st.GetFence(), Output: &workerpb.Output{
		Key: outKey, Bytes: 1000, Format: "mp4", Width: 320, Height: 240, Duration: 12}})
	ds.next()
	sh.eventually("the job succeeds", func() bool { return sh.job(j.ID).Status == jobs.Succeeded })
	got := sh.job(j.ID)
	if got.Output == nil || got.Output.Key != outKey || got.Output.URL != "/v1/renders/job_split/output" || got.Completions != 1 || got.Progress != 1 {
		t.Fatalf("succeeded job: %+v output %+v", got, got.Output)
	}
	sh.eventually("the tasks are removed", func() bool {
		return sh.gone(jobs.PartID(j.ID, 0)) && sh.gone(jobs.PartID(j.ID, 1)) && sh.gone(jobs.StitchID(j.ID))
	})
	if sh.blobs.has(key0) || sh.blobs.has(key1) || !sh.blobs.has(outKey) {
		t.Fatalf("files: part 0 %v, part 1 %v, output %v; want the parts removed and the output kept",
			sh.blobs.has(key0), sh.blobs.has(key1), sh.blobs.has(outKey))
	}
	sh.eventually("the job is announced", func() bool { sh.mu.Lock(); defer sh.mu.Unlock(); return sh.notified[j.ID] == 1 })
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.notified) != 1 {
		t.Fatalf("notified %v, want the job alone, once", sh.notified)
	}
}

// TestSplit_CancelStopsEveryTask: cancelling a split job ends it at once
// and stops every task: the running part's worker is told, the queued one
// is canceled, and the finished one's file is removed.
func TestSplit_CancelStopsEveryTask(t *testing.T) {
	sh := newSplitHarness(t)
	j, parts := sh.splitJob("job_cancel", 0.3, 0.3, 0.4)
	key0 := sh.completePart(parts[0])
	if _, err := sh.store.Update(sh.ctx, j.ID, func(j *jobs.Job) error { j.CancelRequested = true; return nil }); err != nil {
		t.Fatal(err)
	}
	sh.eventually("the job is canceled", func() bool { return sh.job(j.ID).Status == jobs.Canceled })
	// Both unfinished parts were assigned (two slots a worker): each
	// worker is told to stop its own.
	canceled := map[string]bool{}
	for len(canceled) < 2 {
		var m *workerpb.SchedulerMessage
		select {
		case m = <-sh.a.send:
		case m = <-sh.b.send:
		case <-time.After(wait):
			t.Fatalf("cancels sent: %v, want parts 1 and 2", canceled)
		}
		if c := m.GetCancel(); c != nil {
			canceled[c.GetJobId()] = true
		}
	}
	for _, i := range []int{1, 2} {
		if !canceled[parts[i].GetJobId()] {
			t.Fatalf("cancels sent: %v, want part %d's", canceled, i)
		}
		sh.s.released(sh.ctx, sh.workerOf(parts[i]).w, &workerpb.Released{JobId: parts[i].GetJobId(), Fence: parts[i].GetFence(), Canceled: true})
	}
	sh.eventually("every task is removed", func() bool {
		for _, id := range sh.job(j.ID).TaskIDs() {
			if !sh.gone(id) {
				return false
			}
		}
		return true
	})
	if sh.blobs.has(key0) {
		t.Fatal("the finished part's file was kept")
	}
}

// TestSplit_PartFailingForGoodFailsTheJob: a part whose error is not worth
// retrying fails the job with that error, naming the part, and the other
// part is stopped.
func TestSplit_PartFailingForGoodFailsTheJob(t *testing.T) {
	sh := newSplitHarness(t)
	j, parts := sh.splitJob("job_fail", 0.5, 0.5)
	d := sh.workerOf(parts[1])
	sh.s.fail(sh.ctx, d.w, &workerpb.Fail{JobId: parts[1].GetJobId(), Fence: parts[1].GetFence(), Code: "SOURCE_UNREADABLE", Message: "truncated", Retryable: false})
	d.next()
	sh.eventually("the job fails", func() bool { return sh.job(j.ID).Status == jobs.Failed })
	if e := sh.job(j.ID).Error; e == nil || e.Code != "SOURCE_UNREADABLE" || e.Message != "part 1: truncated" {
		t.Fatalf("error %+v", e)
	}
	d0 := sh.workerOf(parts[0])
	if m := d0.next(); m.GetCancel() == nil || m.GetCancel().GetJobId() != parts[0].GetJobId() {
		t.Fatalf("part 0's worker got %v, want its cancel", m)
	}
}

// TestSplit_StaleSplitRefused: a split from an assignment that is no
// longer current changes nothing.
func TestSplit_StaleSplitRefused(t *testing.T) {
	sh := newSplitHarness(t)
	j := sh.submit("job_stale", t0)
	as := sh.anyAssign()
	d := sh.workerOf(as)
	before := sh.job(j.ID)
	sh.s.split(sh.ctx, d.w, &workerpb.Split{JobId: string(j.ID), Fence: as.GetFence() + 1, Plan: []byte(`{}`), Weights: []float64{0.5, 0.5}})
	if ack := d.next().GetAck(); ack == nil || ack.GetAccepted() {
		t.Fatalf("stale split answered %v, want a refusal", ack)
	}
	if now := sh.job(j.ID); now.Revision != before.Revision || !sh.gone(jobs.PartID(j.ID, 0)) {
		t.Fatal("a stale split changed the store")
	}
}

// TestSplit_NewLeaderStitchesWhatTheOldOneLeft: the parts succeeded under
// a leader that stopped before it queued the stitch; the next leader
// finds the split job running and queues it.
func TestSplit_NewLeaderStitchesWhatTheOldOneLeft(t *testing.T) {
	mem, clk := shared()
	old := newHarness(t, testCfg("old"), mem, clk)
	octx, stop := context.WithCancel(old.ctx)
	old.leadWith(octx)
	a := old.register("a", 2)
	j := old.submit("job_handover", t0)
	as := a.assign()
	// The split and the parts' successes as the old leader's committed
	// writes, with no leader watching.
	stop()
	for old.s.Leading() {
		time.Sleep(time.Millisecond)
	}
	if _, err := mem.UpdateWithTasks(context.Background(), j.ID, func(j *jobs.Job) ([]*jobs.Job, error) {
		return j.SplitInto(as.GetFence(), json.RawMessage(`{}`), nil, []float64{0.5, 0.5}, t0)
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		id := jobs.PartID(j.ID, i)
		if _, err := mem.Update(context.Background(), id, func(p *jobs.Job) error {
			if err := p.Assign("a", p.Revision, t0); err != nil {
				return err
			}
			return p.Succeed(p.Fence, jobs.Output{Key: fmt.Sprintf("parts/%d", i)}, t0)
		}); err != nil {
			t.Fatal(err)
		}
	}
	next := newHarness(t, testCfg("next"), mem, clk)
	next.lead()
	w := next.register("b", 1)
	st := w.assign()
	if st.GetTask() != jobs.TaskStitch || strings.Join(st.GetPartKeys(), ",") != "parts/0,parts/1" {
		t.Fatalf("the new leader sent %v, want the stitch of parts/0,parts/1", st)
	}
}
