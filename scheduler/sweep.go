package scheduler

import (
	"context"
	"time"

	"github.com/stickerd/stickerd/services/jobs"
	"github.com/stickerd/stickerd/services/queue"
)

// watchLoop follows the store from the recovery revision: jobs admitted by
// another replica's intake join the queue, and cancellations of running
// jobs reach their workers.
func (s *Scheduler) watchLoop(ctx context.Context, rev int64) {
	for ctx.Err() == nil {
		ch, err := s.store.WatchJobs(ctx, rev+1)
		if err != nil {
			s.log.Warn("watch failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
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
			s.observe(ctx, ev.Job)
		}
	}
}

func (s *Scheduler) observe(ctx context.Context, j *jobs.Job) {
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
	case j.Status == jobs.Queued && j.Admitted:
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

// sweepLoop is the outbox sweep: an accepted job that no intake admitted
// within SweepAge (its Kafka message was lost, or Kafka was down when the
// gateway answered 202) is published again, or admitted directly when
// Kafka is still unavailable.
func (s *Scheduler) sweepLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.SweepInterval):
		}
		s.sweep(ctx)
	}
}

func (s *Scheduler) sweep(ctx context.Context) {
	cutoff := s.clock.Now().Add(-s.cfg.SweepAge)
	var stale []jobs.ID
	_ = s.store.Scan(ctx, func(j *jobs.Job) error {
		if j.Status == jobs.Queued && !j.Admitted && j.CreatedAt.Before(cutoff) {
			stale = append(stale, j.ID)
		}
		if j.Status == jobs.Queued && j.Admitted {
			s.enqueue(j) // repairs a queue that missed a watch event
		}
		return nil
	})
	for _, id := range stale {
		if s.pub != nil {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := s.pub.Publish(pctx, queue.TopicJobs, []byte(id), []byte(`{"job_id":"`+string(id)+`","swept":true}`))
			cancel()
			if err == nil {
				continue
			}
		}
		s.log.Warn("outbox sweep: admitting a job directly", "job", id)
		_ = s.Intake(ctx, queue.Message{Topic: queue.TopicJobs, Key: []byte(id)})
	}
}
