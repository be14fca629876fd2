package scheduler

import (
	"context"
	"encoding/json"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/queue"
)

// event is one state change, as published on stickerd.render.events.
type event struct {
	JobID    jobs.ID     `json:"job_id"`
	Tenant   string      `json:"tenant"`
	Status   jobs.Status `json:"status"`
	Attempts int         `json:"attempts"`
	Worker   *string     `json:"worker,omitempty"`
	Error    *jobs.Error `json:"error,omitempty"`
	Time     time.Time   `json:"time"`
	dlq      *jobs.Job
}

// emit queues a state change for publishing; it never blocks a scheduling
// decision on Kafka (events are best effort, the store is the truth).
func (s *Scheduler) emit(j *jobs.Job) {
	metrics.JobTransitions.WithLabelValues(string(j.Status), string(j.Priority)).Inc()
	e := event{JobID: j.ID, Tenant: j.Tenant, Status: j.Status, Attempts: j.Attempts, Worker: j.Worker, Error: j.Error, Time: s.clock.Now()}
	select {
	case s.events <- e:
	default:
		s.log.Warn("event buffer full; event dropped", "job", j.ID)
	}
}

// deadLetter publishes a job that exhausted its attempts to the DLQ topic.
func (s *Scheduler) deadLetter(j *jobs.Job) {
	select {
	case s.events <- event{JobID: j.ID, dlq: j.Clone()}:
	default:
		s.log.Error("event buffer full; dead letter dropped", "job", j.ID)
	}
}

// publishLoop publishes events in batches: whatever queued up while the
// previous batch was in flight goes out in one call.
func (s *Scheduler) publishLoop(ctx context.Context) {
	batch := make([]queue.Message, 0, 512)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case e := <-s.events:
			batch = appendEvent(batch, e)
		}
	more:
		for len(batch) < cap(batch) {
			select {
			case e := <-s.events:
				batch = appendEvent(batch, e)
			default:
				break more
			}
		}
		if s.deps.Events == nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := s.deps.Events.PublishBatch(pctx, batch); err != nil {
			s.log.Warn("events not published", "count", len(batch), "err", err)
		}
		cancel()
	}
}

func appendEvent(batch []queue.Message, e event) []queue.Message {
	topic, v := queue.TopicEvents, any(e)
	if e.dlq != nil {
		topic, v = queue.TopicDLQ, e.dlq
	}
	b, err := json.Marshal(v)
	if err != nil {
		return batch
	}
	return append(batch, queue.Message{Topic: topic, Key: []byte(e.JobID), Value: b})
}
