package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Idempotency keys live next to the jobs they name:
//
//	<prefix>/idem/<tenant>/<key>    {"job_id", "body_hash", "created_at"}, under a lease
//
// tenant and key are path-escaped, so that key "a/b" of one tenant is never
// key "b" of tenant "x/a". A key is written in the transaction that creates
// its job, so no process (whichever gateway, with or without Redis, before
// or after a crash) can see a key without its job or make a second job for
// it.

// ErrIdempotencyConflict: the Idempotency-Key holds a job made for another
// request body.
var ErrIdempotencyConflict = errors.New("jobstore: idempotency key used with another request body")

// IdemKey is one Idempotency-Key reservation.
type IdemKey struct {
	// Tenant owns the key; keys are per tenant. It must be the job's.
	Tenant string
	// Key is the client's Idempotency-Key.
	Key string
	// BodyHash identifies the request body: the same key with another hash
	// is ErrIdempotencyConflict.
	BodyHash string
	// TTL is how long the key is held: at least TTL, and on etcd at most
	// TTL/60 (capped at a minute) longer, because keys share one lease per
	// slice of expiry times. An etcd leader change can extend a lease.
	TTL time.Duration
}

func (k IdemKey) check() error {
	if k.Tenant == "" || k.Key == "" || k.TTL <= 0 {
		return fmt.Errorf("%w: an idempotency key needs a tenant, a key and a positive TTL", ErrInvalid)
	}
	return nil
}

// idemRecord is the stored form of a reservation.
type idemRecord struct {
	JobID     jobs.ID   `json:"job_id"`
	BodyHash  string    `json:"body_hash"`
	CreatedAt time.Time `json:"created_at"`
}

func (k keys) idem(tenant, key string) string {
	return k.prefix + "/idem/" + url.PathEscape(tenant) + "/" + url.PathEscape(key)
}

// CreateIdempotent creates j unless k is held, in one transaction that
// writes the key (expiring after k.TTL) with the job. It returns the new
// job and true; when k is held with k's BodyHash, the job k names, as it
// is now, and false (nothing is written); when k is held with another
// hash, ErrIdempotencyConflict. The job is created as Create does: j.ID
// must be unused (ErrExists, and the key is not taken), a zero CreatedAt
// is set to now, and j is not modified.
func (s *Store) CreateIdempotent(ctx context.Context, j *jobs.Job, k IdemKey) (*jobs.Job, bool, error) {
	if err := checkID(j.ID); err != nil {
		return nil, false, err
	}
	if err := k.check(); err != nil {
		return nil, false, err
	}
	if j.Tenant != k.Tenant {
		return nil, false, fmt.Errorf("%w: job %s of tenant %q under an idempotency key of tenant %q", ErrInvalid, j.ID, j.Tenant, k.Tenant)
	}
	c := j.Clone()
	now := time.Now().UTC()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, false, fmt.Errorf("jobstore: encode %s: %w", c.ID, err)
	}
	rec, _ := json.Marshal(idemRecord{JobID: c.ID, BodyHash: k.BodyHash, CreatedAt: now})
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	ikey, jkey := s.keys.idem(k.Tenant, k.Key), s.keys.job(c.ID)
	resp, err := s.leasedTxn(ctx, "create idempotent "+string(c.ID), k.TTL, func(lease clientv3.LeaseID) clientv3.Txn {
		return s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(ikey), "=", 0), clientv3.Compare(clientv3.CreateRevision(jkey), "=", 0)).
			Then(clientv3.OpPut(ikey, string(rec), clientv3.WithLease(lease)),
				clientv3.OpPut(jkey, string(data)), clientv3.OpPut(s.keys.index(c), string(c.ID)), s.queuedOp(c)).
			Else(clientv3.OpGet(ikey))
	})
	if err != nil {
		return nil, false, err
	}
	if resp.Succeeded {
		c.Revision = resp.Header.Revision
		return c, true, nil
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return nil, false, fmt.Errorf("%w: %s", ErrExists, c.ID)
	}
	held, err := s.heldJob(ctx, k, kvs[0].Value)
	return held, false, err
}

// ClaimIdempotent takes k for the existing job id (a request answered
// from the result cache made no job, but its key must still name one). It
// returns that job and true; when k is held with k's BodyHash, the job k
// names and false; with another hash, ErrIdempotencyConflict. A job that
// does not exist is ErrNotFound, and the key is not taken.
func (s *Store) ClaimIdempotent(ctx context.Context, k IdemKey, id jobs.ID) (*jobs.Job, bool, error) {
	if err := checkID(id); err != nil {
		return nil, false, err
	}
	if err := k.check(); err != nil {
		return nil, false, err
	}
	rec, _ := json.Marshal(idemRecord{JobID: id, BodyHash: k.BodyHash, CreatedAt: time.Now().UTC()})
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	ikey, jkey := s.keys.idem(k.Tenant, k.Key), s.keys.job(id)
	resp, err := s.leasedTxn(ctx, "claim idempotent "+string(id), k.TTL, func(lease clientv3.LeaseID) clientv3.Txn {
		return s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(ikey), "=", 0), clientv3.Compare(clientv3.CreateRevision(jkey), ">", 0)).
			Then(clientv3.OpPut(ikey, string(rec), clientv3.WithLease(lease)), clientv3.OpGet(jkey)).
			Else(clientv3.OpGet(ikey))
	})
	if err != nil {
		return nil, false, err
	}
	if resp.Succeeded {
		kvs := resp.Responses[1].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			return nil, false, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		j, err := decode(kvs[0])
		if err != nil {
			return nil, false, err
		}
		return j, true, nil
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return nil, false, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	held, err := s.heldJob(ctx, k, kvs[0].Value)
	return held, false, err
}

// IdempotentJob is the job k names, as it is now: ErrNotFound when k is
// not held, ErrIdempotencyConflict when it is held for another body. It
// writes nothing.
func (s *Store) IdempotentJob(ctx context.Context, k IdemKey) (*jobs.Job, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := time.Now()
	resp, err := s.cli.Get(ctx, s.keys.idem(k.Tenant, k.Key))
	observe("get idempotent", start, err)
	if err != nil {
		return nil, classify("get idempotency key", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("%w: idempotency key %q is not held", ErrNotFound, k.Key)
	}
	return s.heldJob(ctx, k, resp.Kvs[0].Value)
}

// heldJob reads the job a stored reservation names, after checking the
// body hash.
func (s *Store) heldJob(ctx context.Context, k IdemKey, value []byte) (*jobs.Job, error) {
	var r idemRecord
	if err := json.Unmarshal(value, &r); err != nil {
		return nil, fmt.Errorf("jobstore: decode idempotency key %q: %w", k.Key, err)
	}
	if r.BodyHash != k.BodyHash {
		return nil, fmt.Errorf("%w: key %q names job %s", ErrIdempotencyConflict, k.Key, r.JobID)
	}
	j, err := s.Get(ctx, r.JobID)
	if err != nil {
		return nil, fmt.Errorf("idempotency key %q names job %s: %w", k.Key, r.JobID, err)
	}
	return j, nil
}

// leasedTxn commits the transaction txn builds with a lease that outlives
// ttl. A lease that has gone (revoked, or expired sooner than this process
// expected) is replaced and the transaction tried once more.
func (s *Store) leasedTxn(ctx context.Context, op string, ttl time.Duration, txn func(clientv3.LeaseID) clientv3.Txn) (*clientv3.TxnResponse, error) {
	leases := s.leases
	for try := 1; ; try++ {
		lease, end, err := leases.get(ctx, s.cli, ttl)
		if err != nil {
			return nil, classify(op+": lease", err)
		}
		start := time.Now()
		resp, err := txn(lease).Commit()
		observe("idempotent", start, err)
		if errors.Is(err, rpctypes.ErrLeaseNotFound) && try == 1 {
			leases.forget(end, lease)
			continue
		}
		if err != nil {
			return nil, classify(op, err)
		}
		return resp, nil
	}
}

// leaseSlice is how far apart the expiry times of keys that share a lease
// may be: a sixtieth of the TTL, from a second to a minute. Keys with a
// day's TTL thus need one lease per minute, however many are written.
func leaseSlice(ttl time.Duration) time.Duration {
	return min(max(ttl/60, time.Second), time.Minute)
}

// sliceEnd is when the lease of a key written at now with ttl ends: the
// end of the slice that holds now+ttl.
func sliceEnd(now time.Time, ttl time.Duration) time.Time {
	slice := leaseSlice(ttl)
	end := now.Add(ttl).Truncate(slice)
	if end.Before(now.Add(ttl)) {
		end = end.Add(slice)
	}
	return end
}

// idemLeases are the leases one etcd client has granted for idempotency
// keys, by the end of their slice of expiry times.
type idemLeases struct {
	mu    sync.Mutex
	byEnd map[int64]*leaseGrant
	now   func() time.Time // time.Now; tests move it
}

type leaseGrant struct {
	done chan struct{}
	id   clientv3.LeaseID
	err  error
}

func newIdemLeases() *idemLeases {
	return &idemLeases{byEnd: map[int64]*leaseGrant{}, now: time.Now}
}

// get returns a lease that lasts at least ttl from now, granting one when
// this slice has none yet, and the end of its slice.
func (l *idemLeases) get(ctx context.Context, cli *clientv3.Client, ttl time.Duration) (clientv3.LeaseID, int64, error) {
	now := l.now()
	endT := sliceEnd(now, ttl)
	end := endT.UnixNano()
	l.mu.Lock()
	g, ok := l.byEnd[end]
	if !ok {
		for e := range l.byEnd {
			if e <= now.UnixNano() {
				delete(l.byEnd, e)
			}
		}
		g = &leaseGrant{done: make(chan struct{})}
		l.byEnd[end] = g
	}
	l.mu.Unlock()
	if !ok {
		// Not the caller's context: other requests wait for this grant.
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultRequestTimeout)
		secs := int64((endT.Sub(now) + time.Second - 1) / time.Second)
		resp, err := cli.Grant(gctx, secs)
		cancel()
		if err != nil {
			g.err = err
			l.forget(end, 0)
		} else {
			g.id = resp.ID
		}
		close(g.done)
	}
	select {
	case <-g.done:
		return g.id, end, g.err
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
}

// forget drops the slice's lease (when it is id, or when id is 0), so that
// the next get grants a new one.
func (l *idemLeases) forget(end int64, id clientv3.LeaseID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if g, ok := l.byEnd[end]; ok && (id == 0 || g.id == id) {
		delete(l.byEnd, end)
	}
}
