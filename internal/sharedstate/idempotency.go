package sharedstate

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stickerd/stickerd/internal/clock"
)

// sweepEvery is how often the in-process stores drop expired entries, so
// that keys nobody asks for again do not pile up.
const sweepEvery = time.Minute

// MemoryIdempotency is the in-process Idempotency: a map with expiry.
type MemoryIdempotency struct {
	mu        sync.Mutex
	entries   map[string]idemEntry
	lastSweep time.Time
	clock     clock.Clock
}

type idemEntry struct {
	hash, jobID string
	expires     time.Time
}

// NewMemoryIdempotency returns an empty reservation table.
func NewMemoryIdempotency() *MemoryIdempotency {
	return &MemoryIdempotency{entries: make(map[string]idemEntry), clock: clock.Real{}}
}

// Reserve records key → (bodyHash, jobID) for ttl unless key is held.
func (m *MemoryIdempotency) Reserve(ctx context.Context, key, bodyHash, jobID string, ttl time.Duration) (string, string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", "", false, err
	}
	if err := checkTTL(ttl); err != nil {
		return "", "", false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	if now.Sub(m.lastSweep) >= sweepEvery {
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
		m.lastSweep = now
	}
	if e, ok := m.entries[key]; ok && now.Before(e.expires) {
		return e.hash, e.jobID, false, nil
	}
	m.entries[key] = idemEntry{hash: bodyHash, jobID: jobID, expires: now.Add(ttl)}
	return bodyHash, jobID, true, nil
}

// Len is the number of reservations held, expired ones not yet swept
// included.
func (m *MemoryIdempotency) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// reserveScript is SET NX PX and, when the key is taken, GET, as one
// atomic step: a separate GET could find the key just expired.
var reserveScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, ARGV[1]}
end
return {0, redis.call('GET', KEYS[1])}
`)

// RedisIdempotency is the Idempotency over Redis.
type RedisIdempotency struct{ redisBase }

// NewRedisIdempotency stores reservations under cfg.Prefix+"idem:".
func NewRedisIdempotency(client redis.UniversalClient, cfg Config) *RedisIdempotency {
	return &RedisIdempotency{newRedisBase(client, cfg, "idem:")}
}

// idemValue is the stored form of a reservation.
type idemValue struct {
	Hash  string `json:"h"`
	JobID string `json:"j"`
}

// Reserve records key → (bodyHash, jobID) for ttl unless key is held.
func (r *RedisIdempotency) Reserve(ctx context.Context, key, bodyHash, jobID string, ttl time.Duration) (string, string, bool, error) {
	if err := checkTTL(ttl); err != nil {
		return "", "", false, err
	}
	value, err := json.Marshal(idemValue{Hash: bodyHash, JobID: jobID})
	if err != nil {
		return "", "", false, err
	}
	opCtx, cancel := r.op(ctx)
	defer cancel()
	res, err := reserveScript.Run(opCtx, r.client, []string{r.prefix + key}, value, ttl.Milliseconds()).Slice()
	if err != nil {
		return "", "", false, storeError(ctx, "idempotency reserve", err)
	}
	if len(res) != 2 {
		return "", "", false, fmt.Errorf("%w: reserve answered %v", ErrCorrupt, res)
	}
	fresh, _ := res[0].(int64)
	stored, ok := res[1].(string)
	var v idemValue
	if !ok || json.Unmarshal([]byte(stored), &v) != nil {
		return "", "", false, fmt.Errorf("%w: idempotency key %q holds %v", ErrCorrupt, key, res[1])
	}
	return v.Hash, v.JobID, fresh == 1, nil
}
