package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/jobs"
)

// memIdemSweep is how often (on the Memory's idempotency clock) expired
// keys are dropped, so that keys nobody asks for again do not pile up.
const memIdemSweep = time.Minute

// memIdem is a Memory's idempotency keys: what etcd keeps under
// <prefix>/idem/. It is guarded by the Memory's mu.
type memIdem struct {
	clock     clock.Clock
	keys      map[string]memIdemRecord // keys.idem(tenant, key) of an empty prefix
	lastSweep time.Time
}

type memIdemRecord struct {
	idemRecord
	expires time.Time
}

func newMemIdem() *memIdem {
	return &memIdem{clock: clock.Real{}, keys: map[string]memIdemRecord{}}
}

func (m *Memory) idem() *memIdem { return m.idems }

// setIdemClock makes the Memory's keys expire on c (tests).
func (m *Memory) setIdemClock(c clock.Clock) {
	t := m.idem()
	m.mu.Lock()
	t.clock = c
	m.mu.Unlock()
}

// heldLocked returns the live reservation of name, dropping expired ones.
func (t *memIdem) heldLocked(name string) (memIdemRecord, bool) {
	now := t.clock.Now()
	if now.Sub(t.lastSweep) >= memIdemSweep {
		for k, r := range t.keys {
			if !now.Before(r.expires) {
				delete(t.keys, k)
			}
		}
		t.lastSweep = now
	}
	r, ok := t.keys[name]
	if ok && !now.Before(r.expires) {
		delete(t.keys, name)
		return r, false
	}
	return r, ok
}

func (t *memIdem) putLocked(name string, k IdemKey, id jobs.ID) {
	now := t.clock.Now()
	t.keys[name] = memIdemRecord{idemRecord{JobID: id, BodyHash: k.BodyHash, CreatedAt: now.UTC()}, now.Add(k.TTL)}
}

// heldJobLocked is the job a live reservation names, after checking the
// body hash.
func (m *Memory) heldJobLocked(k IdemKey, r memIdemRecord) (*jobs.Job, error) {
	if r.BodyHash != k.BodyHash {
		return nil, fmt.Errorf("%w: key %q names job %s", ErrIdempotencyConflict, k.Key, r.JobID)
	}
	rec, ok := m.records[r.JobID]
	if !ok {
		return nil, fmt.Errorf("idempotency key %q names job %s: %w", k.Key, r.JobID, ErrNotFound)
	}
	return m.decode(r.JobID, rec.data, rec.revision)
}

// CreateIdempotent implements the store contract: see
// Store.CreateIdempotent. Keys expire exactly TTL after they are taken.
func (m *Memory) CreateIdempotent(ctx context.Context, j *jobs.Job, k IdemKey) (*jobs.Job, bool, error) {
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
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, false, fmt.Errorf("jobstore: encode %s: %w", c.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, false, classify("create idempotent "+string(c.ID), err)
	}
	t := m.idem()
	name := keys{}.idem(k.Tenant, k.Key)
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := t.heldLocked(name); ok {
		held, err := m.heldJobLocked(k, r)
		return held, false, err
	}
	if _, ok := m.records[c.ID]; ok {
		return nil, false, fmt.Errorf("%w: %s", ErrExists, c.ID)
	}
	t.putLocked(name, k, c.ID)
	c.Revision = m.putLocked(c, data)
	return c, true, nil
}

// ClaimIdempotent implements the store contract: see
// Store.ClaimIdempotent.
func (m *Memory) ClaimIdempotent(ctx context.Context, k IdemKey, id jobs.ID) (*jobs.Job, bool, error) {
	if err := checkID(id); err != nil {
		return nil, false, err
	}
	if err := k.check(); err != nil {
		return nil, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, false, classify("claim idempotent "+string(id), err)
	}
	t := m.idem()
	name := keys{}.idem(k.Tenant, k.Key)
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := t.heldLocked(name); ok {
		held, err := m.heldJobLocked(k, r)
		return held, false, err
	}
	rec, ok := m.records[id]
	if !ok {
		return nil, false, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	t.putLocked(name, k, id)
	m.rev++ // the key's write, as etcd counts it
	j, err := m.decode(id, rec.data, rec.revision)
	if err != nil {
		return nil, false, err
	}
	return j, true, nil
}

// IdempotentJob implements the store contract: see Store.IdempotentJob.
func (m *Memory) IdempotentJob(ctx context.Context, k IdemKey) (*jobs.Job, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, classify("get idempotency key", err)
	}
	t := m.idem()
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := t.heldLocked(keys{}.idem(k.Tenant, k.Key))
	if !ok {
		return nil, fmt.Errorf("%w: idempotency key %q is not held", ErrNotFound, k.Key)
	}
	return m.heldJobLocked(k, r)
}
