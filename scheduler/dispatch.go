package scheduler

import (
	"context"
	"errors"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// dispatchLoop places ready jobs on workers whenever the queue or the
// workers' capacity changes. Store writes run concurrently (bounded), so
// one slow write does not hold up the queue.
func (s *Scheduler) dispatchLoop(ctx context.Context) {
	sem := make(chan struct{}, s.cfg.AssignConcurrency)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for {
			it, w := s.next()
			if it == nil {
				break
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				defer func() { <-sem }()
				s.assign(ctx, it, w)
			}()
		}
	}
}

// next pops the most urgent ready job and reserves a slot for it on the
// chosen worker; nil when nothing can be placed now.
func (s *Scheduler) next() (*item, *worker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.leading {
		return nil, nil
	}
	now := s.clock.Now()
	s.q.promote(now)
	it := s.q.peek()
	if it == nil {
		s.armReleaseLocked()
		return nil, nil
	}
	w := place(s.connectedLocked(), it.gpu, s.cfg.TargetUtilization)
	if w == nil {
		return nil, nil
	}
	s.q.pop()
	w.running[it.id] = 0
	s.assigning[it.id] = true
	return it, w
}

func (s *Scheduler) connectedLocked() map[string]*worker {
	ws := make(map[string]*worker, len(s.workers))
	for id, w := range s.workers {
		if w.send != nil {
			ws[id] = w
		}
	}
	return ws
}

// armReleaseLocked sets a timer for the next backed-off job.
func (s *Scheduler) armReleaseLocked() {
	at := s.q.nextRelease()
	if at.IsZero() {
		return
	}
	d := at.Sub(s.clock.Now())
	if s.releaseTimer != nil {
		s.releaseTimer.Stop()
	}
	s.releaseTimer = s.clock.AfterFunc(max(d, 0), s.poke)
}

// assign records the assignment (a compare-and-swap that also takes the
// fencing token: the record's revision before the write) and sends it.
func (s *Scheduler) assign(ctx context.Context, it *item, w *worker) {
	ctx, span := traceAssign(ctx, it, w.id)
	defer span.End()
	var fence int64
	now := s.clock.Now()
	fn := func(j *jobs.Job) error {
		if j.Status != jobs.Queued {
			return errSkip
		}
		if j.CancelRequested {
			return j.Cancel(now)
		}
		fence = j.Revision
		return j.Assign(w.id, fence, now)
	}
	var j *jobs.Job
	var err error
	if it.job != nil && it.job.Revision > 0 {
		j, err = s.store.UpdateFrom(ctx, it.job, fn)
	} else {
		j, err = s.store.Update(ctx, it.id, fn)
	}
	var again *jobs.Job // the record read back after a failed write
	if err != nil && !errors.Is(err, errSkip) {
		// The write may have committed although its answer was lost (etcd
		// changed leader while it was in flight): the record says.
		// Read until the store answers: a job left running in the record
		// but unknown to the leader would wait for nobody.
		_ = s.retryStore(ctx, func() (gerr error) {
			again, gerr = s.store.Get(ctx, it.id)
			return gerr
		})
		if again != nil && fence != 0 && again.Status == jobs.Running && again.Fence == fence &&
			again.Worker != nil && *again.Worker == w.id {
			s.log.InfoContext(ctx, "assignment committed although its write reported an error", "job", it.id, "err", err)
			j, err = again, nil
		}
	}
	s.mu.Lock()
	delete(s.assigning, it.id)
	if err != nil || j.Status != jobs.Running {
		delete(w.running, it.id)
		if err != nil && !errors.Is(err, errSkip) {
			// The store is unavailable or the job vanished: try again later.
			s.log.WarnContext(ctx, "assign failed", "job", it.id, "err", err)
			if again != nil && again.Status == jobs.Queued {
				s.q.push(again)
			}
		}
		s.mu.Unlock()
		if j != nil && j.Status == jobs.Canceled {
			s.stats.canceled.Add(1)
		}
		s.poke()
		return
	}
	current := s.workers[w.id] == w && w.send != nil
	hint := s.splitHintLocked()
	if current {
		w.running[it.id] = fence
		s.records[it.id] = j
	}
	s.mu.Unlock()
	s.stats.assigned.Add(1)
	metrics.Observe(ctx, metrics.SubmitToRunning, now.Sub(j.CreatedAt).Seconds())
	if !current {
		// The worker went away while the assignment was written.
		s.requeue(ctx, it.id, fence, "WORKER_LOST", "the worker disconnected during assignment", true)
		return
	}
	s.sendTo(w, withTrace(ctx, s.assignMsg(j, fence, hint)))
}

// sendTo queues a message for a worker's stream without blocking the
// scheduler on a slow worker; a worker whose buffer is full is dropped.
func (s *Scheduler) sendTo(w *worker, m *workerpb.SchedulerMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.send == nil {
		return
	}
	select {
	case w.send <- m:
	default:
		s.log.Warn("worker send buffer full; disconnecting it", "worker", w.id)
		s.disconnectLocked(w)
	}
}
