package sharedstate

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ResultCache maps a request's content key (a hash of tenant and
// normalized spec) to the job that rendered it, so an identical request can
// be answered with the finished job.
type ResultCache interface {
	Get(ctx context.Context, key string) (jobID string, ok bool, err error)
	Put(ctx context.Context, key, jobID string, ttl time.Duration) error
}

// RateLimiter is a token bucket per key (a tenant).
type RateLimiter interface {
	// Allow takes one token for key (a tenant); when denied it reports how
	// long until the next token.
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// Idempotency records Idempotency-Key reservations.
type Idempotency interface {
	// Reserve atomically records key → (bodyHash, jobID) if key is new
	// (fresh=true); otherwise it returns what is stored (fresh=false).
	Reserve(ctx context.Context, key, bodyHash, jobID string, ttl time.Duration) (storedHash, storedJobID string, fresh bool, err error)
}

// Progress fans a running job's progress out to every event stream that
// follows it, across processes.
type Progress interface {
	// Publish records progress (0..1) for jobID and sends it to the
	// current subscribers. It never waits for a slow subscriber.
	Publish(ctx context.Context, jobID string, progress float64) error
	// Subscribe streams progress values for a job until ctx ends (late
	// subscribers get the latest value first if known). A subscriber that
	// reads slowly misses intermediate values but always gets the latest.
	// The channel is closed when ctx ends.
	Subscribe(ctx context.Context, jobID string) (<-chan float64, error)
}

// Set is the four features built over one backend, as the gateway and the
// scheduler consume them.
type Set struct {
	Cache       ResultCache
	Limiter     RateLimiter
	Idempotency Idempotency
	Progress    Progress
	// Backend is "memory" or "redis", for logs and /readyz.
	Backend string

	ping  func(context.Context) error
	close func() error
}

// Ping reports whether the backing store answers: the readiness check. The
// in-process backend is always ready.
func (s *Set) Ping(ctx context.Context) error {
	if s.ping == nil {
		return nil
	}
	return s.ping(ctx)
}

// Close releases the backend's connections. Open subscriptions end.
func (s *Set) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}

// Open builds the Set that cfg describes: Redis when cfg.RedisURL is set,
// in-process otherwise.
func Open(ctx context.Context, cfg Config) (*Set, error) {
	if cfg.RedisURL != "" {
		return NewRedis(ctx, cfg)
	}
	return NewMemory(cfg)
}

// NewMemory returns the in-process implementations of all four features.
// Zero fields of cfg take their defaults; RedisURL is ignored.
func NewMemory(cfg Config) (*Set, error) {
	cfg.RedisURL = ""
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cache, limiter := NewMemoryCache(cfg.CacheSize), NewMemoryRateLimiter(cfg.RateLimit)
	idem, progress := NewMemoryIdempotency(), NewMemoryProgress(cfg.ProgressTTL)
	if cfg.Clock != nil {
		cache.clock, limiter.clock, idem.clock, progress.clock = cfg.Clock, cfg.Clock, cfg.Clock, cfg.Clock
	}
	return &Set{
		Cache:       cache,
		Limiter:     limiter,
		Idempotency: idem,
		Progress:    progress,
		Backend:     "memory",
	}, nil
}

// NewFromURL connects to the Redis at url ("redis://host:port/db", or
// rediss:// for TLS) with the defaults of DefaultConfig and returns the
// four Redis implementations sharing one client.
func NewFromURL(ctx context.Context, url string) (*Set, error) {
	cfg := DefaultConfig()
	cfg.RedisURL = url
	return NewRedis(ctx, cfg)
}

// NewRedis connects to cfg.RedisURL and returns the four Redis
// implementations sharing one client. It fails when Redis does not answer
// a PING within ctx and cfg's timeouts: an operator who names a Redis wants
// to hear about a typo at start-up, while an outage later only turns the
// features off (see the package documentation).
func NewRedis(ctx context.Context, cfg Config) (*Set, error) {
	cfg = cfg.withDefaults()
	if cfg.RedisURL == "" {
		return nil, invalidConfig("redis_url is empty")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := cfg.redisOptions()
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opts)
	base := newRedisBase(client, cfg, "")
	ping := func(ctx context.Context) error {
		opCtx, cancel := base.op(ctx)
		defer cancel()
		if err := client.Ping(opCtx).Err(); err != nil {
			return storeError(ctx, "ping", err)
		}
		return nil
	}
	if err := ping(ctx); err != nil {
		client.Close()
		return nil, fmt.Errorf("sharedstate: connecting to redis at %s: %w", opts.Addr, err)
	}
	return &Set{
		Cache:       NewRedisCache(client, cfg),
		Limiter:     NewRedisRateLimiter(client, cfg),
		Idempotency: NewRedisIdempotency(client, cfg),
		Progress:    NewRedisProgress(client, cfg),
		Backend:     "redis",
		ping:        ping,
		close:       client.Close,
	}, nil
}

// Compile-time checks that both backends implement every feature.
var (
	_ ResultCache = (*MemoryCache)(nil)
	_ ResultCache = (*RedisCache)(nil)
	_ RateLimiter = (*MemoryRateLimiter)(nil)
	_ RateLimiter = (*RedisRateLimiter)(nil)
	_ Idempotency = (*MemoryIdempotency)(nil)
	_ Idempotency = (*RedisIdempotency)(nil)
	_ Progress    = (*MemoryProgress)(nil)
	_ Progress    = (*RedisProgress)(nil)
)
