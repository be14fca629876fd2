package sharedstate

import (
	"context"
	"crypto/tls"
	"math"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/stickerd/stickerd/internal/clock"
)

// RateLimit is a token bucket: Burst tokens at most, refilled at Rate
// tokens per second.
type RateLimit struct {
	Rate  float64
	Burst int
}

// interval is the time one token takes to refill, in whole microseconds
// as the Redis script counts.
func (l RateLimit) interval() time.Duration {
	return time.Duration(float64(time.Second) / l.Rate).Truncate(time.Microsecond)
}

// Config configures the coordination features. Start from DefaultConfig;
// zero fields are replaced by their defaults.
type Config struct {
	// RedisURL selects Redis ("redis://host:port/db", rediss:// for TLS,
	// user and password in the URL); empty means in-process.
	RedisURL string
	// RedisTLS, for a rediss:// URL, replaces go-redis's default TLS
	// settings (the system roots): the cluster CA, a client certificate.
	// The URL's host stays the name verified unless it sets ServerName.
	RedisTLS *tls.Config
	// Prefix namespaces every Redis key and channel; default "stickerd:".
	Prefix string
	// RateLimit applies to every tenant; default 5 requests/s, burst 20.
	RateLimit RateLimit
	// CacheSize bounds the in-process result cache (entries, least
	// recently used evicted first); default 10000. Redis bounds its own
	// memory with maxmemory.
	CacheSize int
	// ProgressTTL is how long the latest progress value of a job is kept
	// for late subscribers after its last update; default 2m.
	ProgressTTL time.Duration

	// DialTimeout, ReadTimeout and WriteTimeout bound each Redis
	// operation, so an outage turns into a fast error instead of a slow
	// request; defaults 1s, 500ms, 500ms.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// OpTimeout bounds one call of a Redis implementation, its retry
	// included, when the caller's ctx allows longer; default 750ms. It is
	// what keeps a hung (not dead) Redis from holding a request.
	OpTimeout time.Duration
	// PoolSize is the number of Redis connections; default go-redis's
	// (10 per CPU).
	PoolSize int
	// Clock times the in-process implementations' expiries and rate
	// limits; nil is the real clock. Redis keeps its own time.
	Clock clock.Clock
}

// DefaultConfig returns the in-process configuration with every default
// filled in.
func DefaultConfig() Config {
	return Config{
		Prefix:       "stickerd:",
		RateLimit:    RateLimit{Rate: 5, Burst: 20},
		CacheSize:    10000,
		ProgressTTL:  2 * time.Minute,
		DialTimeout:  time.Second,
		ReadTimeout:  500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond,
		OpTimeout:    750 * time.Millisecond,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Prefix == "" {
		c.Prefix = d.Prefix
	}
	if c.RateLimit.Rate == 0 && c.RateLimit.Burst == 0 {
		c.RateLimit = d.RateLimit
	}
	if c.CacheSize == 0 {
		c.CacheSize = d.CacheSize
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.ProgressTTL, &d.ProgressTTL}, {&c.DialTimeout, &d.DialTimeout},
		{&c.ReadTimeout, &d.ReadTimeout}, {&c.WriteTimeout, &d.WriteTimeout},
		{&c.OpTimeout, &d.OpTimeout},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return c
}

// Validate reports the first problem of the configuration, zero fields
// counting as their defaults.
func (c *Config) Validate() error {
	d := c.withDefaults()
	switch {
	case math.IsNaN(d.RateLimit.Rate) || math.IsInf(d.RateLimit.Rate, 0) || d.RateLimit.Rate <= 0:
		return invalidConfig("rate_limit.rate %v is not a positive number", d.RateLimit.Rate)
	case d.RateLimit.interval() < time.Microsecond:
		return invalidConfig("rate_limit.rate %v is over 1e6 per second", d.RateLimit.Rate)
	case d.RateLimit.Burst < 1:
		return invalidConfig("rate_limit.burst %d is under 1", d.RateLimit.Burst)
	case d.CacheSize < 1:
		return invalidConfig("cache_size %d is under 1", d.CacheSize)
	case d.ProgressTTL < time.Millisecond:
		return invalidConfig("progress_ttl %s is under 1ms", d.ProgressTTL)
	case d.DialTimeout < 0 || d.ReadTimeout < 0 || d.WriteTimeout < 0 || d.OpTimeout < 0:
		return invalidConfig("redis timeouts must not be negative")
	case d.PoolSize < 0:
		return invalidConfig("pool_size %d is negative", d.PoolSize)
	case strings.ContainsAny(d.Prefix, " \r\n"):
		return invalidConfig("prefix %q contains white space", d.Prefix)
	}
	if d.RedisURL != "" {
		if _, err := d.redisOptions(); err != nil {
			return err
		}
	}
	return nil
}

// redisOptions parses RedisURL and applies the fail-fast settings: the
// URL's own timeout parameters are overridden, since the features'
// contract with their callers depends on them.
func (c Config) redisOptions() (*redis.Options, error) {
	opts, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		return nil, invalidConfig("redis_url: %v", err)
	}
	if opts.TLSConfig != nil && c.RedisTLS != nil {
		tc := c.RedisTLS.Clone()
		if tc.ServerName == "" {
			tc.ServerName = opts.TLSConfig.ServerName
		}
		opts.TLSConfig = tc
	}
	opts.DialTimeout = c.DialTimeout
	opts.ReadTimeout = c.ReadTimeout
	opts.WriteTimeout = c.WriteTimeout
	// A caller's deadline shortens an operation further.
	opts.ContextTimeoutEnabled = true
	// One dial attempt, one retry (a pooled connection may be stale after
	// a Redis restart): an outage answers in about one round of timeouts.
	opts.DialerRetries = 1
	opts.MaxRetries = 1
	opts.MinRetryBackoff = 5 * time.Millisecond
	opts.MaxRetryBackoff = 50 * time.Millisecond
	opts.PoolTimeout = c.DialTimeout
	if c.PoolSize > 0 {
		opts.PoolSize = c.PoolSize
	}
	// CLIENT SETINFO is unknown to Redis before 7.2.
	opts.DisableIdentity = true
	// Maintenance notifications are a Redis Cloud feature; asking for them
	// costs a round trip per connection and a warning on plain Redis.
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opts, nil
}

// redisBase is what every Redis implementation shares: the client, its
// key prefix and the per-call deadline.
type redisBase struct {
	client    redis.UniversalClient
	prefix    string
	opTimeout time.Duration
}

func newRedisBase(client redis.UniversalClient, cfg Config, namespace string) redisBase {
	cfg = cfg.withDefaults()
	return redisBase{client: client, prefix: cfg.Prefix + namespace, opTimeout: cfg.OpTimeout}
}

// op bounds one call by OpTimeout. Errors must still be judged against the
// caller's ctx (storeError), so that our own deadline reads as an outage.
func (b redisBase) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.opTimeout)
}
