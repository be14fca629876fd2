package submit

import (
	"context"
	"errors"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/render/spec"
)

// IdempotentStore is a Store that keeps Idempotency-Keys with the jobs
// they made, written in the transaction that creates the job
// (*jobstore.Store, *jobstore.Memory).
type IdempotentStore interface {
	CreateIdempotent(ctx context.Context, j *jobs.Job, k jobstore.IdemKey) (*jobs.Job, bool, error)
	ClaimIdempotent(ctx context.Context, k jobstore.IdemKey, id jobs.ID) (*jobs.Job, bool, error)
	IdempotentJob(ctx context.Context, k jobstore.IdemKey) (*jobs.Job, error)
}

// Idempotent reports whether the Store keeps Idempotency-Keys, that is
// whether SubmitIdempotent, ClaimIdempotent and IdempotentJob work; when
// it does not they answer errors.ErrUnsupported.
func (s *Submitter) Idempotent() bool {
	_, ok := s.Store.(IdempotentStore)
	return ok
}

// SubmitIdempotent is Submit under an Idempotency-Key: the key and the job
// are written in one transaction, so that whichever gateway retries the
// request, and whenever (within the key's TTL, even after the gateway that
// made the job died before answering), it finds the job. It returns the
// new job and true, or, when the key is held for the same body, the job
// the key made, as it is now, and false. Only a new job is produced to
// Kafka: a job whose producer died is enqueued by the scheduler's outbox
// sweep. The key held for another body is CONFLICT (its chain holds
// jobstore.ErrIdempotencyConflict).
func (s *Submitter) SubmitIdempotent(ctx context.Context, tenant string, sp *spec.Spec, k jobstore.IdemKey) (*jobs.Job, bool, error) {
	is, ok := s.Store.(IdempotentStore)
	if !ok {
		return nil, false, errors.ErrUnsupported
	}
	j, err := s.newJob(jobs.NewID(), tenant, sp)
	if err != nil {
		return nil, false, err
	}
	stampOrigin(ctx, j)
	stampTrace(ctx, j)
	out, created, err := is.CreateIdempotent(ctx, j, k)
	if err != nil {
		return nil, false, idemErr(err)
	}
	if created {
		s.publish(ctx, out)
	}
	return out, created, nil
}

// ClaimIdempotent takes the key for an existing job (a request the result
// cache answered). It returns that job and true, or the job the key holds
// for the same body and false; CONFLICT for another body, and
// jobstore.ErrNotFound when there is no job id.
func (s *Submitter) ClaimIdempotent(ctx context.Context, k jobstore.IdemKey, id jobs.ID) (*jobs.Job, bool, error) {
	is, ok := s.Store.(IdempotentStore)
	if !ok {
		return nil, false, errors.ErrUnsupported
	}
	j, fresh, err := is.ClaimIdempotent(ctx, k, id)
	if err != nil {
		return nil, false, idemErr(err)
	}
	return j, fresh, nil
}

// IdempotentJob is the job the key holds for the same body, as it is now:
// jobstore.ErrNotFound when the key is free, CONFLICT when it is held for
// another body. It writes nothing.
func (s *Submitter) IdempotentJob(ctx context.Context, k jobstore.IdemKey) (*jobs.Job, error) {
	is, ok := s.Store.(IdempotentStore)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	j, err := is.IdempotentJob(ctx, k)
	if err != nil {
		return nil, idemErr(err)
	}
	return j, nil
}

// idemErr keeps ErrNotFound as it is (a free key, or no such job) and
// types the rest.
func idemErr(err error) error {
	switch {
	case errors.Is(err, jobstore.ErrIdempotencyConflict):
		return errcode.Wrap(errcode.Conflict, err, "this Idempotency-Key was used with another request body; use a new key for a new request")
	case errors.Is(err, jobstore.ErrNotFound):
		return err
	}
	return storeErr(err)
}
