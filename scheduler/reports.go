package scheduler

import (
	"context"
	"errors"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// register admits a worker's stream, or re-admits a worker that
// reconnected, and reconciles the jobs it says it holds with those the
// scheduler thinks it holds.
func (s *Scheduler) register(ctx context.Context, reg *workerpb.Register, send chan *workerpb.SchedulerMessage) (*worker, error) {
	s.mu.Lock()
	if !s.leading {
		s.mu.Unlock()
		return nil, ErrNotLeader
	}
	w := s.workers[reg.GetWorkerId()]
	if w == nil {
		w = &worker{id: reg.GetWorkerId(), running: map[jobs.ID]int64{}}
		s.workers[w.id] = w
	} else {
		s.disconnectLocked(w) // an older stream of the same worker
	}
	w.caps, w.send, w.closed, w.draining = reg.GetCapabilities(), send, make(chan struct{}), false
	s.armLocked(w)
	reported := map[jobs.ID]int64{}
	for _, r := range reg.GetRunning() {
		reported[jobs.ID(r.GetJobId())] = r.GetFence()
	}
	var gone []jobs.ID // ours, not reported: the worker lost them
	var goneFence []int64
	for id, fence := range w.running {
		if _, ok := reported[id]; !ok && fence != 0 {
			gone, goneFence = append(gone, id), append(goneFence, fence)
			delete(w.running, id)
		}
	}
	var adopt []*workerpb.RunningJob
	for _, r := range reg.GetRunning() {
		if _, ok := w.running[jobs.ID(r.GetJobId())]; !ok {
			adopt = append(adopt, r)
		}
	}
	lctx := s.leaderCtx
	s.mu.Unlock()
	s.log.Info("worker registered", "worker", w.id, "concurrency", w.caps.GetConcurrency(),
		"gpu", w.caps.GetGpuState().String(), "running", len(reg.GetRunning()))
	for i, id := range gone {
		s.requeue(lctx, id, goneFence[i], "WORKER_LOST", "worker "+w.id+" restarted without the job", true)
	}
	// Jobs the worker reports that the scheduler did not know about (a new
	// leader): keep those the store agrees it holds; cancel the rest.
	for _, r := range adopt {
		j, err := s.store.Get(ctx, jobs.ID(r.GetJobId()))
		if err == nil && j.CheckFence(r.GetFence()) == nil && j.Worker != nil && *j.Worker == w.id {
			s.mu.Lock()
			w.running[j.ID] = r.GetFence()
			s.mu.Unlock()
			continue
		}
		if err == nil && j.Status.Terminal() {
			continue // finished; a pending report will be acked as stale
		}
		s.sendTo(w, cancelMsg(r.GetJobId(), r.GetFence()))
	}
	s.poke()
	return w, nil
}

func cancelMsg(id string, fence int64) *workerpb.SchedulerMessage {
	return &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Cancel{Cancel: &workerpb.Cancel{JobId: id, Fence: fence}}}
}

func ackMsg(id string, fence int64, accepted bool) *workerpb.SchedulerMessage {
	return &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Ack{Ack: &workerpb.Ack{JobId: id, Fence: fence, Accepted: accepted}}}
}

// heartbeat records a worker's load and resets its timer.
func (s *Scheduler) heartbeat(w *worker, hb *workerpb.Heartbeat) {
	s.mu.Lock()
	if s.workers[w.id] == w {
		w.cpu, w.gpu, w.nvencUse, w.draining = hb.GetCpuUtilization(), hb.GetGpuUtilization(), hb.GetNvencSessionsInUse(), hb.GetDraining()
		s.armLocked(w)
		metrics.WorkerCPU.WithLabelValues(w.id).Set(w.cpu)
		metrics.WorkerGPU.WithLabelValues(w.id).Set(w.gpu)
		metrics.WorkerNVENC.WithLabelValues(w.id).Set(float64(w.nvencUse))
		metrics.WorkerJobs.WithLabelValues(w.id).Set(float64(hb.GetJobsRunning()))
	}
	s.mu.Unlock()
	s.poke()
}

// progressReport stores a running job's progress, at most once per
// ProgressWriteInterval per job: watchers (SSE) follow the record.
func (s *Scheduler) progressReport(ctx context.Context, p *workerpb.Progress) {
	ctx = s.fenced(ctx)
	id := jobs.ID(p.GetJobId())
	s.mu.Lock()
	rec := s.records[id]
	s.mu.Unlock()
	if rec != nil && rec.Task != nil && rec.Fence == p.GetFence() {
		// A task of a split job: its job's progress is what clients
		// follow; the task's own is kept by the leader only.
		s.splitJobProgress(ctx, rec.Parent, s.partProgress(rec, p.GetProgress()))
		return
	}
	if s.deps.Progress != nil {
		if err := s.deps.Progress.Publish(ctx, string(id), p.GetProgress()); err != nil {
			s.log.Debug("progress not fanned out", "job", id, "err", err)
		}
	}
	if p.GetProgress() >= 0.99 {
		return // not worth a write: the completion follows
	}
	if !s.progressDue(id) {
		return
	}
	j, err := s.store.Update(ctx, id, func(j *jobs.Job) error {
		if j.CheckFence(p.GetFence()) != nil || p.GetProgress() <= j.Progress {
			return errSkip
		}
		j.Progress = min(p.GetProgress(), 0.99)
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) {
			s.log.Debug("progress not stored", "job", id, "err", err)
		}
		return
	}
	s.mu.Lock()
	if _, ok := s.records[id]; ok {
		s.records[id] = j
	}
	s.mu.Unlock()
}

// progressDue reports whether a progress write for job id is due: at most
// one every ProgressWriteInterval, the first at once.
func (s *Scheduler) progressDue(id jobs.ID) bool {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, seen := s.progress[id]; seen && now.Sub(last) < s.cfg.ProgressWriteInterval {
		return false
	}
	s.progress[id] = now
	return true
}

// complete records a finished render; a report from a stale assignment
// (another worker has the job now, or it already ended) is refused.
func (s *Scheduler) complete(ctx context.Context, w *worker, c *workerpb.Complete) {
	ctx = s.fenced(ctx)
	id, fence := jobs.ID(c.GetJobId()), c.GetFence()
	ctx, span := s.traceReport(ctx, id, "complete")
	defer span.End()
	o := c.GetOutput()
	out := jobs.Output{URL: "/v1/renders/" + string(id) + "/output", Key: o.GetKey(), Bytes: o.GetBytes(), Format: o.GetFormat(),
		Width: int(o.GetWidth()), Height: int(o.GetHeight()), Duration: o.GetDuration(), Encoder: o.GetEncoder()}
	var j *jobs.Job
	err := s.retryStore(ctx, func() error {
		var err error
		fn := func(j *jobs.Job) error {
			if err := j.Succeed(fence, out, s.clock.Now()); err != nil {
				return err
			}
			j.RecordPhases(phases(c.GetPhases()))
			if len(o.GetPlan()) > 0 {
				j.Plan = o.GetPlan()
			}
			return nil
		}
		s.mu.Lock()
		known := s.records[id]
		s.mu.Unlock()
		if known != nil && known.Fence == fence {
			j, err = s.store.UpdateFrom(ctx, known, fn)
		} else {
			j, err = s.store.Update(ctx, id, fn)
		}
		return err
	})
	s.release(w, id)
	switch {
	case err == nil:
		s.finished(j)
		s.sendTo(w, ackMsg(string(id), fence, true))
	case errors.Is(err, jobstore.ErrDeposed):
		s.deposed("completion", id, err) // the new leader takes the worker's resend
	case errors.Is(err, jobs.ErrStaleFence) || errors.Is(err, jobs.ErrTransition):
		if cur, gerr := s.store.Get(ctx, id); gerr == nil && cur.Status == jobs.Succeeded && cur.Fence == fence &&
			cur.Output != nil && cur.Output.Key == out.Key {
			// An earlier send of this report was recorded although its
			// write answered an error (etcd changed leader meanwhile): the
			// record is this attempt's. The watch announces it.
			s.log.InfoContext(ctx, "completion already recorded by an earlier write that reported an error", "job", id, "worker", w.id, "fence", fence)
			s.sendTo(w, ackMsg(string(id), fence, true))
			return
		}
		s.stats.stale.Add(1)
		metrics.StaleReports.Inc()
		s.log.WarnContext(ctx, "stale completion refused", "job", id, "worker", w.id, "fence", fence)
		s.sendTo(w, ackMsg(string(id), fence, false))
	default:
		s.log.ErrorContext(ctx, "completion not recorded; the worker will send it again", "job", id, "err", err)
	}
}

// fail records a failed attempt: retried elsewhere when the worker says
// it is worth it, failed for good otherwise.
func (s *Scheduler) fail(ctx context.Context, w *worker, f *workerpb.Fail) {
	ctx = s.fenced(ctx)
	id := jobs.ID(f.GetJobId())
	s.release(w, id)
	s.requeue(ctx, id, f.GetFence(), f.GetCode(), f.GetMessage(), f.GetRetryable())
	s.sendTo(w, ackMsg(f.GetJobId(), f.GetFence(), true))
}

// released handles a job a worker gave back: canceled on request, or
// handed back by a draining worker (requeued at once, the attempt not counted).
func (s *Scheduler) released(ctx context.Context, w *worker, r *workerpb.Released) {
	ctx = s.fenced(ctx)
	id, fence := jobs.ID(r.GetJobId()), r.GetFence()
	s.release(w, id)
	now := s.clock.Now()
	var j *jobs.Job
	err := s.retryStore(ctx, func() error {
		var err error
		j, err = s.store.Update(ctx, id, func(j *jobs.Job) error {
			if err := j.CheckFence(fence); err != nil {
				return errSkip
			}
			if r.GetCanceled() || j.CancelRequested {
				return j.Cancel(now)
			}
			if err := j.Requeue(jobs.Error{Code: "WORKER_LOST", Message: "handed back by draining worker " + w.id}, now); err != nil {
				return err
			}
			j.Attempts--
			return nil
		})
		return err
	})
	if err == nil {
		s.finished(j)
	}
	s.sendTo(w, ackMsg(string(id), fence, err == nil))
}

// release frees the worker's slot for the job.
func (s *Scheduler) release(w *worker, id jobs.ID) {
	s.mu.Lock()
	delete(w.running, id)
	s.mu.Unlock()
	s.poke()
}
