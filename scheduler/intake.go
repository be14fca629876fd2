package scheduler

import (
	"context"
	"errors"

	"github.com/stickerd/stickerd/services/jobs"
	"github.com/stickerd/stickerd/services/queue"
	"github.com/stickerd/stickerd/services/statestore"
)

// Intake is the Kafka handler for stickerd.render.jobs. It records the
// job's admission in the store and only then returns nil, so the consumer
// commits the offset only after the job is recorded. A message delivered
// twice changes nothing the second time.
func (s *Scheduler) Intake(ctx context.Context, m queue.Message) error {
	id := jobs.ID(m.Key)
	j, err := s.store.Update(ctx, id, func(j *jobs.Job) error {
		if j.Status != jobs.Queued || j.Admitted {
			return errSkip
		}
		j.Admitted = true
		return nil
	})
	switch {
	case errors.Is(err, errSkip):
		return nil
	case errors.Is(err, statestore.ErrNotFound):
		s.log.Warn("intake: no such job; message skipped", "job", id)
		return nil
	case err != nil:
		return err // not committed; the consumer retries
	}
	s.enqueue(j)
	return nil
}
