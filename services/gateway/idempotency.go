package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/services/gateway/resultcache"
)

// accept turns a valid, checked spec into the answer of POST /v1/renders:
// a result-cache hit (200), the job an earlier request with the same
// Idempotency-Key made (202), or a new job (202).
//
// An Idempotency-Key is kept in the state store, in the transaction that
// makes its job (acceptIdempotent), whenever the Submitter can: then any
// gateway, with or without Redis, finds the job a key made, even when the
// gateway that made it died before answering. Only a Submitter that
// cannot falls back on the Idempotency dependency, which a crash or a
// Redis outage defeats.
func (g *Gateway) accept(c *gin.Context, tenant string, sp *spec.Spec, hashes map[string]string, idemKey string) (*jobs.Job, int, error) {
	var cached *jobs.Job
	if g.deps.Cache != nil {
		key, ok, err := resultcache.KeyWith(tenant, sp, func(id string) (string, error) { return hashes[id], nil })
		switch {
		case err != nil:
			g.failOpen(c, "cache", err)
		case !ok:
			g.met.cache.WithLabelValues("uncacheable").Inc()
		default:
			cached = g.cachedResult(c, tenant, key)
		}
	}
	if is, ok := g.deps.Submitter.(IdempotentSubmitter); ok && idemKey != "" && is.Idempotent() {
		key := jobstore.IdemKey{Tenant: tenant, Key: idemKey, BodyHash: specHash(sp), TTL: g.cfg.IdempotencyTTL}
		return g.acceptIdempotent(c, is, tenant, sp, key, cached)
	}
	if idemKey == "" || g.deps.Idempotency == nil {
		if cached != nil {
			return cached, http.StatusOK, nil
		}
		j, err := g.create(c, tenant, "", sp)
		return j, http.StatusAccepted, err
	}
	r := reservation{g: g, c: c, key: "idem:" + url.PathEscape(tenant) + ":" + idemKey, hash: specHash(sp)}
	if cached != nil {
		if !r.reserve(cached.ID) || r.fresh {
			return cached, http.StatusOK, nil
		}
		return g.replay(c, tenant, sp, &r)
	}
	if _, can := g.deps.Submitter.(IDSubmitter); can {
		id := jobs.NewID()
		if !r.reserve(id) {
			j, err := g.create(c, tenant, "", sp)
			return j, http.StatusAccepted, err
		}
		if r.fresh {
			j, err := g.create(c, tenant, id, sp)
			return j, http.StatusAccepted, err
		}
		return g.replay(c, tenant, sp, &r)
	}
	// The submitter picks ids itself: make the job, then claim the key
	// with it; a job that lost the key to an earlier request is canceled.
	j, err := g.create(c, tenant, "", sp)
	if err != nil {
		return nil, 0, err
	}
	if !r.reserve(j.ID) || r.fresh {
		return j, http.StatusAccepted, nil
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	if _, err := g.deps.Submitter.Cancel(ctx, tenant, j.ID); err != nil {
		g.log.Warn("could not cancel a duplicate of an idempotent request", "job", j.ID, "err", err)
	}
	return g.replay(c, tenant, sp, &r)
}

// acceptIdempotent answers a request with an Idempotency-Key that the
// state store keeps. A cache hit takes the key for the job that rendered
// it (200), a new request makes its job and takes the key in one
// transaction (202); a key already held answers the job it holds, as it
// is now (202), or 409 for another body. A request the store cannot
// answer fails (503): going on without the key could make a second job
// for it.
func (g *Gateway) acceptIdempotent(c *gin.Context, is IdempotentSubmitter, tenant string, sp *spec.Spec, key jobstore.IdemKey, cached *jobs.Job) (*jobs.Job, int, error) {
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	if cached != nil {
		j, fresh, err := is.ClaimIdempotent(ctx, key, cached.ID)
		switch {
		case err != nil:
			return nil, 0, err
		case fresh:
			return cached, http.StatusOK, nil
		}
		return j, http.StatusAccepted, nil
	}
	if err := g.checkQueue(c); err != nil {
		// A retry makes no job, so it is answered while the queue is full.
		j, lerr := is.IdempotentJob(ctx, key)
		if lerr == nil {
			return j, http.StatusAccepted, nil
		}
		if errors.Is(lerr, jobstore.ErrIdempotencyConflict) {
			return nil, 0, lerr
		}
		return nil, 0, err
	}
	j, created, err := is.SubmitIdempotent(ctx, tenant, sp, key)
	if err != nil {
		return nil, 0, err
	}
	if created {
		metrics.JobsSubmitted.WithLabelValues(string(j.Priority)).Inc()
	}
	return j, http.StatusAccepted, nil
}

// reservation is one Idempotency-Key claim (the fallback without an
// IdempotentSubmitter).
type reservation struct {
	g         *Gateway
	c         *gin.Context
	key, hash string
	// What Reserve answered.
	fresh      bool
	storedHash string
	storedID   jobs.ID
}

// reserve claims the key for id; false when the idempotency store failed
// and the request must go on without it.
func (r *reservation) reserve(id jobs.ID) bool {
	ctx, cancel := r.g.storeCtx(r.c)
	defer cancel()
	h, sid, fresh, err := r.g.deps.Idempotency.Reserve(ctx, r.key, r.hash, string(id), r.g.cfg.IdempotencyTTL)
	if err != nil {
		r.g.failOpen(r.c, "idempotency", err)
		return false
	}
	r.fresh, r.storedHash, r.storedID = fresh, h, jobs.ID(sid)
	return true
}

// replay answers a request whose Idempotency-Key was used before: 409 for
// another body, else the job that key made, as it is now. A job that was
// never made (its submission failed after the key was claimed) is made now
// under the claimed id.
func (g *Gateway) replay(c *gin.Context, tenant string, sp *spec.Spec, r *reservation) (*jobs.Job, int, error) {
	if r.storedHash != r.hash {
		return nil, 0, problem.New(errcode.Conflict, "this Idempotency-Key was used with another request body; use a new key for a new request")
	}
	ctx, cancel := g.storeCtx(c)
	j, err := g.latestJob(ctx, r.storedID) // "as it is now"
	cancel()
	switch {
	case err == nil && j.Tenant == tenant:
		return j, http.StatusAccepted, nil
	case err != nil && !errors.Is(err, jobstore.ErrNotFound) && !errors.Is(err, jobstore.ErrInvalid):
		return nil, 0, err
	}
	if _, can := g.deps.Submitter.(IDSubmitter); !can || err == nil || r.storedID == "" {
		j, err := g.create(c, tenant, "", sp)
		return j, http.StatusAccepted, err
	}
	j, err = g.create(c, tenant, r.storedID, sp)
	if errors.Is(err, jobstore.ErrExists) { // a concurrent replay made it first
		ctx, cancel := g.storeCtx(c)
		defer cancel()
		j, err = g.latestJob(ctx, r.storedID)
	}
	return j, http.StatusAccepted, err
}

// specHash identifies a request body for its Idempotency-Key: the
// normalised spec, so that formatting does not matter.
func specHash(sp *spec.Spec) string {
	norm, _ := json.Marshal(sp)
	sum := sha256.Sum256(norm)
	return hex.EncodeToString(sum[:])
}
