package scheduler

import (
	"context"
	"errors"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/queue"
)

// Intake is the Kafka handler for stickerd.render.jobs. The gateway
// recorded the job before producing it; Intake reads it back and queues it,
// and only then returns nil, so the consumer commits the offset only for a
// job that is recorded. It writes nothing: a message delivered twice
// changes nothing, and a job whose message is lost still reaches the leader
// through its store watch, its recovery scan or the sweep.
func (s *Scheduler) Intake(ctx context.Context, m queue.Message) error {
	id := jobs.ID(m.Key)
	noteIntake(ctx, id) // the assign span links to this consume span
	if s.holds(id) {
		return nil // the leader has it already (from its watch): nothing to read
	}
	j, err := s.store.Get(ctx, id)
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		s.log.Warn("intake: no such job; message skipped", "job", id)
		return nil
	case err != nil:
		return err // not committed; the consumer retries
	}
	s.enqueue(j)
	return nil
}

// holds reports whether the leader is already queueing or running the job.
func (s *Scheduler) holds(id jobs.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading && (s.q.has(id) || s.assigning[id] || s.records[id] != nil)
}
