package scheduler

import (
	"context"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// watchLoop follows the store from the recovery revision: every committed
// state change is announced, new and requeued jobs join the queue
// (whichever replica's intake saw their message), and cancellations of
// running jobs reach their workers.
func (s *Scheduler) watchLoop(ctx context.Context, recovered, from int64, ann *announcer) {
	rev := from
	for ctx.Err() == nil {
		ch, err := s.store.WatchJobs(ctx, rev+1)
		if err != nil {
			s.log.Warn("watch failed; retrying", "err", err)
			if s.clock.Sleep(ctx, time.Second) != nil {
				return
			}
			continue
		}
		for ev := range ch {
			if ev.Job == nil {
				continue
			}
			if ev.Job.Revision > rev {
				rev = ev.Job.Revision
			}
			if !ev.Deleted {
				// A record at or below the cursor (a resync after
				// compaction sends every record) was announced already.
				if ev.Job.Revision > ann.from {
					s.announce(ann, ev.Job)
				}
				// The history between the cursor and the recovery is
				// replayed for its announcements only: recover took the
				// state at that revision in.
				if ev.Job.Revision > recovered {
					s.observe(ctx, ev.Job)
				}
			}
			s.watched.Store(max(s.watched.Load(), ev.Job.Revision))
		}
	}
}

func (s *Scheduler) observe(ctx context.Context, j *jobs.Job) {
	if j.Parent != "" && (j.Status.Terminal()) {
		go s.observeTask(ctx, j)
	}
	if j.Split != nil {
		go s.observeSplit(ctx, j)
	}
	switch {
	case j.Status == jobs.Queued && j.CancelRequested:
		s.mu.Lock()
		s.q.remove(j.ID)
		s.mu.Unlock()
		if c, err := s.store.Update(ctx, j.ID, func(j *jobs.Job) error {
			if j.Status != jobs.Queued {
				return errSkip
			}
			return j.Cancel(s.clock.Now())
		}); err == nil {
			s.finished(c)
		}
	case j.Status == jobs.Queued:
		s.enqueue(j)
	case j.Status == jobs.Running && j.CancelRequested && j.Worker != nil:
		s.mu.Lock()
		w := s.workers[*j.Worker]
		s.mu.Unlock()
		if w != nil {
			s.sendTo(w, cancelMsg(string(j.ID), j.Fence))
		}
	case j.Status.Terminal():
		s.mu.Lock()
		s.q.remove(j.ID)
		s.mu.Unlock()
	}
}

// sweepLoop is the outbox sweep: an accepted job still queued after
// SweepAge that the leader is not holding (its Kafka message was lost, Kafka
// was down when the gateway answered 202, or a watch event was missed) is
// queued again.
func (s *Scheduler) sweepLoop(ctx context.Context) {
	t := s.clock.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		s.sweep(ctx)
		s.advanceCursor(ctx)
	}
}

func (s *Scheduler) sweep(ctx context.Context) {
	cutoff := s.clock.Now().Add(-s.cfg.SweepAge)
	_ = s.store.ScanQueued(ctx, func(j *jobs.Job) error {
		if j.Status == jobs.Queued && j.CreatedAt.Before(cutoff) {
			s.mu.Lock()
			held := s.q.has(j.ID) || s.assigning[j.ID]
			s.mu.Unlock()
			if !held {
				s.stats.swept.Add(1)
				s.log.Info("outbox sweep: queueing a job the leader did not hold", "job", j.ID)
				s.enqueue(j)
			}
		}
		return nil
	})
}
