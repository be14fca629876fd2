package scheduler

import (
	"context"
	"errors"
	"fmt"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// Burst rendering: a worker that plans a job into parts for many workers
// answers its assignment with Split. The leader records the plan and
// creates one task record per part in the same transaction
// (jobstore.UpdateWithTasks); tasks queue and run as jobs do, each with
// its own fencing tokens, attempts and retries, so a lost or failed part
// is retried alone. When every part has succeeded the leader creates the
// stitch task, which joins them; its success ends the job, once. A task
// that fails for good fails the job, and cancelling the job cancels every
// task. Each step is taken from the store's watch of the task records
// (observeTask), so a step whose write answered an error, or that a
// previous leader left undone (resumeSplits), is still taken, once: every
// step is a compare-and-swap on the job's record that checks its state.

// splitter is what burst rendering needs of the store beyond Store.
type splitter interface {
	UpdateWithTasks(ctx context.Context, id jobs.ID, fn jobstore.TaskFunc) (*jobs.Job, error)
}

// split records a worker's plan of many parts and queues the parts.
func (s *Scheduler) split(ctx context.Context, w *worker, m *workerpb.Split) {
	ctx = s.fenced(ctx)
	id, fence := jobs.ID(m.GetJobId()), m.GetFence()
	st, ok := s.store.(splitter)
	if !ok {
		s.log.Error("a worker split a job but the store cannot create tasks; failing the attempt", "job", id)
		s.release(w, id)
		s.requeue(ctx, id, fence, "INTERNAL", "the state store cannot hold a split render", false)
		s.sendTo(w, ackMsg(string(id), fence, true))
		return
	}
	now := s.clock.Now()
	var tasks []*jobs.Job
	var j *jobs.Job
	err := s.retryStore(ctx, func() error {
		var err error
		j, err = st.UpdateWithTasks(ctx, id, func(j *jobs.Job) ([]*jobs.Job, error) {
			ts, err := j.SplitInto(fence, m.GetPlan(), m.GetSummary(), m.GetWeights(), now)
			tasks = ts
			return ts, err
		})
		return err
	})
	s.release(w, id)
	switch {
	case err == nil:
		s.mu.Lock()
		delete(s.records, id)
		s.mu.Unlock()
		s.log.Info("job split into parts", "job", id, "worker", w.id, "parts", len(tasks))
		for _, t := range tasks {
			t.Revision = j.Revision
			s.enqueue(t)
		}
		s.sendTo(w, ackMsg(string(id), fence, true))
	case errors.Is(err, jobstore.ErrDeposed):
		s.deposed("split", id, err)
	case errors.Is(err, jobs.ErrStaleFence) || errors.Is(err, jobs.ErrTransition) || errors.Is(err, jobstore.ErrExists):
		// An earlier send of this report may have been recorded although
		// its write answered an error.
		cur, gerr := s.store.Get(ctx, id)
		done := gerr == nil && cur.Split != nil && cur.Fence == fence
		if !done {
			s.stats.stale.Add(1)
			s.log.Warn("stale split refused", "job", id, "worker", w.id, "fence", fence, "err", err)
		}
		s.sendTo(w, ackMsg(string(id), fence, done))
	default:
		s.log.Error("split not recorded; the worker will send it again", "job", id, "err", err)
	}
}

// splitHint is how many workers a job's parts could go to now, for the
// assignment: the connected workers taking work (0 when splitting is off).
func (s *Scheduler) splitHintLocked() int32 {
	if s.cfg.SplitMinSeconds <= 0 {
		return 0
	}
	var n int32
	for _, w := range s.workers {
		if w.send != nil && !w.draining {
			n++
		}
	}
	return n
}

// assignMsg is the assignment of j (a job or a task) to a worker.
func (s *Scheduler) assignMsg(j *jobs.Job, fence int64, workers int32) *workerpb.SchedulerMessage {
	a := &workerpb.Assign{JobId: string(j.ID), Fence: fence, Spec: j.Spec, Attempt: int32(j.Attempts), Tenant: j.Tenant,
		Priority: string(j.Priority)}
	if t := j.Task; t != nil {
		a.Task, a.ParentId, a.Part, a.Plan, a.PartKeys = t.Kind, string(j.Parent), int32(t.Index), t.Plan, t.PartKeys
	} else {
		a.Workers, a.SplitMinSeconds = workers, s.cfg.SplitMinSeconds
	}
	return &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Assign{Assign: a}}
}

// observeTask takes the step a task record's change calls for (from the
// watch; a goroutine of its own, as it reads and writes the store).
func (s *Scheduler) observeTask(ctx context.Context, t *jobs.Job) {
	if t.Task == nil {
		return
	}
	switch t.Status {
	case jobs.Succeeded:
		s.partProgress(t, 1)
		if t.Task.Kind == jobs.TaskStitch {
			s.finishSplit(ctx, t)
		} else {
			s.maybeStitch(ctx, t.Parent)
		}
	case jobs.Failed:
		s.failSplit(ctx, t)
	}
	if t.Status.Terminal() {
		// A task that ends after its job did (a part that finished while
		// the job was canceled) is cleaned up now.
		if p, err := s.store.Get(ctx, t.Parent); err == nil && p.Status.Terminal() {
			s.cleanupTasks(ctx, p)
		}
	}
}

// observeSplit takes the step a split job's change calls for.
func (s *Scheduler) observeSplit(ctx context.Context, j *jobs.Job) {
	switch {
	case j.Status == jobs.Running && j.CancelRequested:
		s.cancelSplit(ctx, j.ID)
	case j.Status.Terminal():
		s.forgetSplit(j.ID)
		s.cleanupTasks(ctx, j)
	}
}

// maybeStitch creates the stitch task of job id once every part has
// succeeded. Two parts that finish together both try; the job's state
// lets one through.
func (s *Scheduler) maybeStitch(ctx context.Context, id jobs.ID) {
	ctx = s.fenced(ctx)
	p, err := s.store.Get(ctx, id)
	if err != nil || p.Status != jobs.Running || p.Split == nil || p.Split.Stitching {
		return
	}
	keys := make([]string, p.Split.Parts)
	for i := range keys {
		t, err := s.store.Get(ctx, jobs.PartID(id, i))
		if err != nil || t.Status != jobs.Succeeded || t.Output == nil {
			return
		}
		keys[i] = t.Output.Key
	}
	st, ok := s.store.(splitter)
	if !ok {
		return
	}
	var stitch *jobs.Job
	j, err := st.UpdateWithTasks(ctx, id, func(j *jobs.Job) ([]*jobs.Job, error) {
		t, err := j.StartStitch(keys, s.clock.Now())
		stitch = t
		return []*jobs.Job{t}, err
	})
	switch {
	case err == nil:
		s.log.Info("every part rendered; stitching", "job", id, "parts", len(keys))
		stitch.Revision = j.Revision
		s.enqueue(stitch)
	case errors.Is(err, jobs.ErrTransition) || errors.Is(err, jobstore.ErrExists):
	case errors.Is(err, jobstore.ErrDeposed):
		s.deposed("stitch", id, err)
	default:
		s.log.Warn("stitch not queued; the next change or leader retries", "job", id, "err", err)
	}
}

// finishSplit ends a split job with its stitch's output.
func (s *Scheduler) finishSplit(ctx context.Context, stitch *jobs.Job) {
	if stitch.Output == nil {
		return
	}
	ctx = s.fenced(ctx)
	out := *stitch.Output
	out.URL = "/v1/renders/" + string(stitch.Parent) + "/output"
	j, err := s.store.Update(ctx, stitch.Parent, func(j *jobs.Job) error {
		if j.Status != jobs.Running || j.Split == nil {
			return errSkip
		}
		return j.SucceedSplit(out, s.clock.Now())
	})
	switch {
	case err == nil:
		s.finished(j)
	case errors.Is(err, errSkip):
	case errors.Is(err, jobstore.ErrDeposed):
		s.deposed("split completion", stitch.Parent, err)
	default:
		s.log.Warn("split job's completion not recorded; the next leader retries", "job", stitch.Parent, "err", err)
	}
}

// failSplit fails a split job with the error of a task that failed for
// good; cleanupTasks then stops the others.
func (s *Scheduler) failSplit(ctx context.Context, t *jobs.Job) {
	ctx = s.fenced(ctx)
	code, msg := "INTERNAL", "a task failed"
	if t.Error != nil {
		code, msg = t.Error.Code, t.Error.Message
	}
	what := "the stitch"
	if t.Task.Kind == jobs.TaskPart {
		what = fmt.Sprintf("part %d", t.Task.Index)
	}
	j, err := s.store.Update(ctx, t.Parent, func(j *jobs.Job) error {
		if j.Status != jobs.Running || j.Split == nil {
			return errSkip
		}
		return j.Fail(code, what+": "+msg, s.clock.Now())
	})
	if err == nil {
		s.finished(j)
	}
}

// cancelSplit ends a split job whose cancellation was requested: the job
// is canceled at once, and cleanupTasks stops its tasks.
func (s *Scheduler) cancelSplit(ctx context.Context, id jobs.ID) {
	ctx = s.fenced(ctx)
	j, err := s.store.Update(ctx, id, func(j *jobs.Job) error {
		if j.Status != jobs.Running || j.Split == nil || !j.CancelRequested {
			return errSkip
		}
		return j.Cancel(s.clock.Now())
	})
	if err == nil {
		s.finished(j)
	}
}

// cleanupTasks, once a split job has ended, stops its unfinished tasks
// (their cancellation requested: a queued one is canceled, a running one's
// worker is told) and removes the finished ones: the parts' files and
// every task record. The stitch's file is the job's output, kept.
func (s *Scheduler) cleanupTasks(ctx context.Context, j *jobs.Job) {
	ctx = s.fenced(ctx)
	del, canDelete := s.store.(jobDeleter)
	for _, id := range j.TaskIDs() {
		t, err := s.store.Get(ctx, id)
		if err != nil {
			continue // never created, or removed already
		}
		if !t.Status.Terminal() {
			if !t.CancelRequested {
				_, _ = s.store.Update(ctx, id, func(t *jobs.Job) error {
					if t.Status.Terminal() || t.CancelRequested {
						return errSkip
					}
					t.CancelRequested = true
					return nil
				})
			}
			continue
		}
		keep := j.Output != nil && t.Output != nil && t.Output.Key == j.Output.Key
		if t.Output != nil && t.Output.Key != "" && !keep && s.deps.Blobs != nil {
			if err := s.deps.Blobs.Delete(ctx, t.Output.Key); err != nil {
				s.log.Warn("a task's file not removed; retention removes it", "task", id, "err", err)
				continue
			}
		}
		if canDelete {
			if err := del.Delete(ctx, t); err != nil && !errors.Is(err, jobstore.ErrNotFound) {
				s.log.Debug("task record not removed", "task", id, "err", err)
			}
		}
	}
}

// resumeSplits takes, for the split jobs a new leader found running, the
// steps their tasks' states call for, which the watch will not replay.
func (s *Scheduler) resumeSplits(ctx context.Context, known []*jobs.Job) {
	for _, j := range known {
		if j.Split == nil || j.Status != jobs.Running {
			continue
		}
		if j.CancelRequested {
			s.cancelSplit(ctx, j.ID)
			continue
		}
		for _, id := range j.TaskIDs() {
			if t, err := s.store.Get(ctx, id); err == nil && t.Status.Terminal() {
				s.observeTask(ctx, t)
			}
		}
		s.maybeStitch(ctx, j.ID)
	}
}

// splitProgress is a split job's tasks' progress, kept by the leader.
type splitProgress struct {
	parts  map[int]float64
	weight map[int]float64
	stitch float64
}

// splitWeight is the share of a split job's progress its stitch stands
// for; the parts share the rest by their weights.
const stitchWeight = 0.1

// partProgress records a task's progress (1 when it succeeded) and fans
// the job's own out; it returns the job's progress.
func (s *Scheduler) partProgress(t *jobs.Job, p float64) float64 {
	if t.Task == nil {
		return 0
	}
	s.mu.Lock()
	sp := s.splits[t.Parent]
	if sp == nil {
		sp = &splitProgress{parts: map[int]float64{}, weight: map[int]float64{}}
		s.splits[t.Parent] = sp
	}
	if t.Task.Kind == jobs.TaskStitch {
		sp.stitch = max(sp.stitch, p)
	} else {
		sp.parts[t.Task.Index] = max(sp.parts[t.Task.Index], p)
		sp.weight[t.Task.Index] = t.Task.Weight
	}
	var parts float64
	for i, w := range sp.weight {
		parts += w * sp.parts[i]
	}
	overall := min(0.99, (1-stitchWeight)*parts+stitchWeight*sp.stitch)
	s.mu.Unlock()
	if s.deps.Progress != nil {
		_ = s.deps.Progress.Publish(context.Background(), string(t.Parent), overall)
	}
	return overall
}

func (s *Scheduler) forgetSplit(id jobs.ID) {
	s.mu.Lock()
	delete(s.splits, id)
	delete(s.progress, id)
	s.mu.Unlock()
}

// splitJobProgress stores a split job's progress, throttled as a job's
// own reports are.
func (s *Scheduler) splitJobProgress(ctx context.Context, id jobs.ID, p float64) {
	if !s.progressDue(id) {
		return
	}
	_, err := s.store.Update(ctx, id, func(j *jobs.Job) error {
		if j.Status != jobs.Running || j.Split == nil || p <= j.Progress {
			return errSkip
		}
		j.Progress = p
		return nil
	})
	if err != nil && !errors.Is(err, errSkip) {
		s.log.Debug("progress not stored", "job", id, "err", err)
	}
}
