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
	rev      int64 // the record's revision that this event announces
}

// emit queues a state change for publishing; it never blocks a scheduling
// decision on Kafka. A dropped event stops the announcement cursor for the
// rest of the term, so that the next leader announces it again.
func (s *Scheduler) emit(j *jobs.Job) {
	metrics.JobTransitions.WithLabelValues(string(j.Status), string(j.Priority)).Inc()
	s.queueEvent(event{JobID: j.ID, Tenant: j.Tenant, Status: j.Status, Attempts: j.Attempts, Worker: j.Worker, Error: j.Error,
		Time: s.clock.Now(), rev: j.Revision})
}

// deadLetter publishes a job that exhausted its attempts to the DLQ topic.
func (s *Scheduler) deadLetter(j *jobs.Job) {
	s.queueEvent(event{JobID: j.ID, dlq: j.Clone(), rev: j.Revision})
}

func (s *Scheduler) queueEvent(e event) {
	s.inflight.Add(1)
	select {
	case s.events <- e:
	default:
		s.inflight.Add(-1)
		s.dropped.Store(true)
		s.log.Warn("event buffer full; event dropped (the next leader announces it again)", "job", e.JobID)
	}
}

// publishLoop publishes events in batches: whatever queued up while the
// previous batch was in flight goes out in one call. A batch Kafka refuses
// is retried, in order, until it goes out or leadership ends: the
// announcement cursor moves past an event only once it is published.
func (s *Scheduler) publishLoop(ctx context.Context) {
	batch := make([]queue.Message, 0, 512)
	for {
		batch = batch[:0]
		var last int64
		select {
		case <-ctx.Done():
			return
		case e := <-s.events:
			batch, last = appendEvent(batch, e), max(last, e.rev)
		}
		n := int64(1)
	more:
		for len(batch) < cap(batch) {
			select {
			case e := <-s.events:
				batch, last, n = appendEvent(batch, e), max(last, e.rev), n+1
			default:
				break more
			}
		}
		for attempt := 1; s.deps.Events != nil; attempt++ {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := s.deps.Events.PublishBatch(pctx, batch)
			cancel()
			if err == nil {
				break
			}
			s.log.Warn("events not published; retrying", "count", len(batch), "err", err)
			if s.clock.Sleep(ctx, storeRetry.Delay(attempt)) != nil {
				s.dropped.Store(true) // leadership ended with these unpublished
				break
			}
		}
		s.published.Store(max(s.published.Load(), last))
		s.inflight.Add(-n)
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

// announcer remembers, per job, the last state the leader announced, so
// that each state change is announced once however many writes (progress,
// cancel requests) the record sees in that state. It belongs to one watch
// loop.
type announcer struct {
	last map[jobs.ID]announced
	// from is the revision up to which everything was announced (the
	// cursor this term started from).
	from int64
}

type announced struct {
	status   jobs.Status
	attempts int
}

// changed reports whether j is a state not yet announced for its job, and
// records it.
func (a *announcer) changed(j *jobs.Job) bool {
	if a.last == nil {
		a.last = map[jobs.ID]announced{}
	}
	k := announced{j.Status, j.Attempts}
	if j.Status == jobs.Queued && j.Attempts == 0 {
		return false // a new job: the gateway answered 202 for it; not a change
	}
	if a.last[j.ID] == k {
		return false
	}
	if j.Status.Terminal() {
		delete(a.last, j.ID) // no state follows a terminal one
	} else {
		a.last[j.ID] = k
	}
	return true
}

// announce tells everyone outside the scheduler about a state the store
// committed: the state-change event, the typed error event, the
// dead-letter record and the webhook. Called from the watch of the job
// records only, never from the handler that made the write: a write that
// committed although its answer was lost is announced, and one that did
// not commit never is.
func (s *Scheduler) announce(a *announcer, j *jobs.Job) {
	if j.Parent != "" {
		// A split job's task: its job's own changes are the events and
		// the webhook; a task's errors (a part requeued after its worker
		// was lost) are reported as any job's are, under the task's id.
		if a.changed(j) {
			s.reportError(j)
		}
		return
	}
	if !a.changed(j) {
		return
	}
	s.emit(j)
	s.reportError(j)
	if j.Status == jobs.Failed && j.Error != nil && j.Error.Code == "ATTEMPTS_EXHAUSTED" {
		metrics.DeadLettered.Inc()
		s.deadLetter(j)
	}
	if s.deps.Notify != nil && j.Status.Terminal() {
		s.deps.Notify(j)
	}
}
