package submit

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/render/spec"
)

// Store is what submitting needs of the state store.
type Store interface {
	Create(ctx context.Context, j *jobs.Job) (*jobs.Job, error)
	Update(ctx context.Context, id jobs.ID, fn func(*jobs.Job) error) (*jobs.Job, error)
}

// Publisher produces to Kafka.
type Publisher interface {
	Publish(ctx context.Context, topic string, key, value []byte) error
}

// ErrNotFound is returned for a job that does not exist for the tenant.
var ErrNotFound = errors.New("submit: no such job")

// ErrFinished is returned when canceling a job that already ended.
var ErrFinished = errors.New("submit: the job already finished")

// Submitter accepts and cancels jobs.
type Submitter struct {
	Store Store
	Pub   Publisher
	Log   *slog.Logger
	// Clock stamps the jobs (the real clock when nil).
	Clock clock.Clock
	// PublishTimeout bounds the Kafka produce after the job is recorded.
	PublishTimeout time.Duration
}

// Submit records a validated spec as a queued job for tenant and queues it
// on Kafka. The returned job is accepted: it reaches exactly one terminal
// state. A store outage is STATE_STORE_UNAVAILABLE; a Kafka outage is not
// an error.
func (s *Submitter) Submit(ctx context.Context, tenant string, sp *spec.Spec) (*jobs.Job, error) {
	return s.SubmitID(ctx, jobs.NewID(), tenant, sp)
}

// SubmitID is Submit with the job id chosen by the caller: the gateway
// reserves an Idempotency-Key for an id before the job exists, so a retry
// after a failed submit creates the job under the id the key holds. An id
// that exists already is refused with jobstore.ErrExists.
func (s *Submitter) SubmitID(ctx context.Context, id jobs.ID, tenant string, sp *spec.Spec) (*jobs.Job, error) {
	j, err := s.newJob(id, tenant, sp)
	if err != nil {
		return nil, err
	}
	stampOrigin(ctx, j)
	stampTrace(ctx, j)
	created, err := s.Store.Create(ctx, j)
	if errors.Is(err, jobstore.ErrExists) {
		return nil, err
	}
	if err != nil {
		return nil, storeErr(err)
	}
	s.publish(ctx, created)
	return created, nil
}

// newJob is the queued job of a validated spec.
func (s *Submitter) newJob(id jobs.ID, tenant string, sp *spec.Spec) (*jobs.Job, error) {
	raw, err := json.Marshal(sp)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "encoding the spec")
	}
	j := &jobs.Job{ID: id, Tenant: tenant, Status: jobs.Queued, Priority: jobs.Priority(sp.Priority),
		CreatedAt: s.now().UTC(), Spec: raw, WebhookURL: sp.WebhookURL, Metadata: sp.Metadata}
	if j.Priority == "" {
		j.Priority = jobs.Normal
	}
	if j.Metadata == nil {
		j.Metadata = map[string]string{}
	}
	return j, nil
}

func (s *Submitter) publish(ctx context.Context, j *jobs.Job) {
	if s.Pub == nil {
		return
	}
	d := s.PublishTimeout
	if d <= 0 {
		d = 2 * time.Second
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	msg, _ := json.Marshal(map[string]any{"job_id": j.ID, "tenant": j.Tenant, "priority": j.Priority})
	if err := s.Pub.Publish(pctx, queue.TopicJobs, []byte(j.ID), msg); err != nil && s.Log != nil {
		s.Log.Warn("job accepted but not produced; the outbox sweep will enqueue it", "job", j.ID, "err", err)
	}
}

// Cancel cancels a tenant's job: a queued job at once, a running one by
// asking the scheduler to stop its worker (the job then ends canceled).
func (s *Submitter) Cancel(ctx context.Context, tenant string, id jobs.ID) (*jobs.Job, error) {
	j, err := s.Store.Update(ctx, id, func(j *jobs.Job) error {
		switch {
		case !j.OwnedBy(tenant):
			return ErrNotFound
		case j.Status.Terminal():
			return ErrFinished
		case j.Status == jobs.Queued:
			return j.Cancel(s.now().UTC())
		}
		j.CancelRequested = true
		return nil
	})
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		return nil, ErrNotFound
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrFinished):
		return nil, err
	case err != nil:
		return nil, storeErr(err)
	}
	return j, nil
}

func (s *Submitter) now() time.Time {
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return clock.Real{}.Now()
}

func storeErr(err error) error {
	if errors.Is(err, jobstore.ErrUnavailable) {
		return errcode.Wrap(errcode.StateStoreUnavailable, err, "the state store is unavailable; try again")
	}
	return errcode.Wrap(errcode.Internal, err, "state store")
}
