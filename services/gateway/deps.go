package gateway

import (
	"context"
	"io"
	"net/netip"
	"time"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/services/assets"
)

// JobStore is what the gateway reads of the state store
// (*jobstore.Store). Errors: jobstore.ErrNotFound, ErrUnavailable,
// ErrInvalid (a bad cursor).
type JobStore interface {
	Get(ctx context.Context, id jobs.ID) (*jobs.Job, error)
	List(ctx context.Context, o jobstore.ListOptions) ([]*jobs.Job, string, error)
	Watch(ctx context.Context, id jobs.ID) (<-chan *jobs.Job, error)
}

// LatestReader is a JobStore whose Get may trail the store by a little
// (*jobstore.Cached serves it from a watch-fed cache): Latest reads the
// store itself. The gateway reads that way wherever it refuses on a job's
// state, so that a refusal never rests on a record the client has already
// seen superseded.
type LatestReader interface {
	Latest(ctx context.Context, id jobs.ID) (*jobs.Job, error)
}

// Submitter accepts and cancels jobs (*submit.Submitter): Cancel answers
// submit.ErrNotFound and submit.ErrFinished.
type Submitter interface {
	Submit(ctx context.Context, tenant string, sp *spec.Spec) (*jobs.Job, error)
	Cancel(ctx context.Context, tenant string, id jobs.ID) (*jobs.Job, error)
}

// IDSubmitter is a Submitter that takes the new job's id from the caller.
// With it an Idempotency-Key is reserved before the job exists; without it
// the job is created first and a duplicate that lost the race for the key
// is canceled.
type IDSubmitter interface {
	SubmitID(ctx context.Context, id jobs.ID, tenant string, sp *spec.Spec) (*jobs.Job, error)
}

// IdempotentSubmitter is a Submitter that keeps Idempotency-Keys in the
// state store, written in the transaction that creates the job
// (*submit.Submitter over *jobstore.Store): the gateway then needs no
// Idempotency store, and a key holds across gateways and their crashes.
// Idempotent reports whether it can (its store keeps keys); a key held
// for another body is a CONFLICT error, a free key jobstore.ErrNotFound.
type IdempotentSubmitter interface {
	Idempotent() bool
	// SubmitIdempotent makes the job unless the key holds one, which it
	// returns as it is now (created false).
	SubmitIdempotent(ctx context.Context, tenant string, sp *spec.Spec, key jobstore.IdemKey) (j *jobs.Job, created bool, err error)
	// ClaimIdempotent takes the key for an existing job, or returns the
	// job the key holds (fresh false).
	ClaimIdempotent(ctx context.Context, key jobstore.IdemKey, id jobs.ID) (j *jobs.Job, fresh bool, err error)
	// IdempotentJob is the job the key holds; it writes nothing.
	IdempotentJob(ctx context.Context, key jobstore.IdemKey) (*jobs.Job, error)
}

// AssetStore keeps uploads (*assets.Store). Get and Hash answer
// assets.ErrNotFound for another tenant's asset.
type AssetStore interface {
	// Upload stores an upload; created is false when the tenant already
	// had an asset with the same bytes, which it returns.
	Upload(ctx context.Context, tenant, contentType string, r io.Reader, limit int64) (a *assets.Asset, created bool, err error)
	Get(ctx context.Context, tenant, id string) (*assets.Asset, error)
	// Hash gives the SHA-256 of an asset, for result-cache keys.
	Hash(ctx context.Context, tenant, id string) (string, error)
}

// Blobs opens stored outputs (blob.Store).
type Blobs interface {
	Open(ctx context.Context, key string) (blob.Object, error)
}

// Resolver looks up host names (*net.Resolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ResultCache maps a render request's cache key to the job that rendered it.
type ResultCache interface {
	Get(ctx context.Context, key string) (jobID string, ok bool, err error)
	Put(ctx context.Context, key, jobID string, ttl time.Duration) error
}

// RateLimiter is a token bucket per key.
type RateLimiter interface {
	// Allow takes one token for key; when denied it says how long until the next one.
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// Idempotency remembers Idempotency-Keys for a Submitter that cannot
// (not an IdempotentSubmitter, or one whose store keeps no keys); with an
// IdempotentSubmitter the state store keeps them and this is not used.
type Idempotency interface {
	// Reserve records key → (bodyHash, jobID) if key is new; otherwise returns what is stored.
	Reserve(ctx context.Context, key, bodyHash, jobID string, ttl time.Duration) (storedHash, storedJobID string, fresh bool, err error)
}

// Progress fans out fine-grained progress.
type Progress interface {
	// Subscribe streams fine-grained progress values for a job until ctx ends.
	Subscribe(ctx context.Context, jobID string) (<-chan float64, error)
}

// Deps are the gateway's collaborators. Jobs, Submitter, Assets and Blobs
// are required. Cache, Limiter, Idempotency and Progress are optional
// (nil: feature off); when one of them fails the request goes on without
// it (fail open) and the failure is logged and counted, never a 5xx.
type Deps struct {
	Jobs      JobStore
	Submitter Submitter
	Assets    AssetStore
	Blobs     Blobs
	// QueueDepth reports the jobs waiting for a worker; nil disables the
	// depth limit, an error lets the submission through.
	QueueDepth func() (int, error)
	// Ready are the /readyz checks; when empty and Jobs has a
	// Revision(ctx) method (*jobstore.Store), a "state_store" check.
	Ready []health.Check
	// Resolver checks spec URLs (net.DefaultResolver when nil).
	Resolver Resolver
	// Clock dates signed output links and checks their expiry
	// (clock.Real when nil).
	Clock clock.Clock

	// Errors, when set, receives every typed error the gateway answers
	// (internal/errevents.Publisher); it counts them locally too.
	Errors Reporter

	Cache       ResultCache
	Limiter     RateLimiter
	Idempotency Idempotency
	Progress    Progress

	// Templates keeps the tenants' templates; nil answers the template
	// routes 404 and refuses renders that name a template.
	Templates TemplateStore
	// Batches and BatchJobs keep batches and make their jobs; with
	// Templates, both are needed for the batch routes (404 otherwise).
	Batches   BatchStore
	BatchJobs BatchJobs
}

// Reporter publishes typed error events.
type Reporter interface {
	Report(ctx context.Context, e errevents.Event)
}
