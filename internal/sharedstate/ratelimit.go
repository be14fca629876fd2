package sharedstate

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stickerd/stickerd/internal/clock"
)

// Both limiters implement GCRA, the token bucket written as one
// timestamp per key: the theoretical arrival time (TAT) at which the
// bucket is full again. A request at now is allowed when
// TAT+interval-burst*interval <= now, and then moves TAT on by one
// interval; a denied request changes nothing and is told exactly how long
// until that inequality holds. A key whose TAT has passed is the same as
// no key, which is what lets both sides forget idle tenants.

// MemoryRateLimiter is the in-process RateLimiter.
type MemoryRateLimiter struct {
	mu        sync.Mutex
	interval  time.Duration
	burst     time.Duration // burst * interval
	tats      map[string]time.Time
	lastSweep time.Time
	clock     clock.Clock
}

// NewMemoryRateLimiter returns a limiter applying limit to every key.
// limit must be valid (see Config.Validate).
func NewMemoryRateLimiter(limit RateLimit) *MemoryRateLimiter {
	iv := limit.interval()
	return &MemoryRateLimiter{
		interval: iv,
		burst:    time.Duration(limit.Burst) * iv,
		tats:     make(map[string]time.Time),
		clock:    clock.Real{},
	}
}

// Allow takes one token for key, or reports how long until the next one.
func (l *MemoryRateLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if now.Sub(l.lastSweep) >= sweepEvery {
		for k, tat := range l.tats {
			if !tat.After(now) {
				delete(l.tats, k)
			}
		}
		l.lastSweep = now
	}
	tat, ok := l.tats[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	next := tat.Add(l.interval)
	if allowAt := next.Add(-l.burst); allowAt.After(now) {
		return false, allowAt.Sub(now), nil
	}
	l.tats[key] = next
	return true, 0, nil
}

// Len is the number of keys tracked, idle ones not yet swept included.
func (l *MemoryRateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tats)
}

// gcraScript is GCRA on Redis's clock (so gateways with skewed clocks
// agree), in microseconds. ARGV: interval µs, burst. It returns
// {allowed (0/1), retry after µs}. The key expires when the bucket is full
// again. Numbers are formatted with %.0f because Lua's tostring would
// print a microsecond timestamp in exponent notation.
var gcraScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return {0, string.format('%.0f', allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, '0'}
`)

// RedisRateLimiter is the RateLimiter over Redis, one atomic script per
// call (EVALSHA, falling back to EVAL when Redis lost its script cache).
type RedisRateLimiter struct {
	redisBase
	interval string // µs
	burst    string
}

// NewRedisRateLimiter keeps buckets under cfg.Prefix+"rl:" and applies
// cfg.RateLimit, which must be valid (see Config.Validate).
func NewRedisRateLimiter(client redis.UniversalClient, cfg Config) *RedisRateLimiter {
	limit := cfg.withDefaults().RateLimit
	return &RedisRateLimiter{
		redisBase: newRedisBase(client, cfg, "rl:"),
		interval:  strconv.FormatInt(limit.interval().Microseconds(), 10),
		burst:     strconv.Itoa(limit.Burst),
	}
}

// Allow takes one token for key, or reports how long until the next one.
func (l *RedisRateLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	opCtx, cancel := l.op(ctx)
	defer cancel()
	res, err := gcraScript.Run(opCtx, l.client, []string{l.prefix + key}, l.interval, l.burst).Slice()
	if err != nil {
		return false, 0, storeError(ctx, "rate limit", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("%w: rate limit answered %v", ErrCorrupt, res)
	}
	allowed, _ := res[0].(int64)
	s, _ := res[1].(string)
	retryMicros, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return false, 0, fmt.Errorf("%w: rate limit answered %v", ErrCorrupt, res)
	}
	return allowed == 1, time.Duration(retryMicros) * time.Microsecond, nil
}
