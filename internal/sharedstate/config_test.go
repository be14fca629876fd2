package sharedstate

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr bool
	}{
		{"defaults", func(*Config) {}, false},
		{"zero config takes defaults", func(c *Config) { *c = Config{} }, false},
		{"redis url", func(c *Config) { c.RedisURL = "redis://127.0.0.1:6379/2" }, false},
		{"redis url with password", func(c *Config) { c.RedisURL = "redis://:secret@127.0.0.1:6379/0" }, false},
		{"bad scheme", func(c *Config) { c.RedisURL = "http://127.0.0.1:6379" }, true},
		{"bad db", func(c *Config) { c.RedisURL = "redis://127.0.0.1:6379/x" }, true},
		{"negative rate", func(c *Config) { c.RateLimit = RateLimit{Rate: -1, Burst: 1} }, true},
		{"NaN rate", func(c *Config) { c.RateLimit = RateLimit{Rate: math.NaN(), Burst: 1} }, true},
		{"rate too high", func(c *Config) { c.RateLimit = RateLimit{Rate: 1e7, Burst: 1} }, true},
		{"zero burst", func(c *Config) { c.RateLimit = RateLimit{Rate: 1, Burst: 0} }, true},
		{"negative cache size", func(c *Config) { c.CacheSize = -1 }, true},
		{"progress ttl under 1ms", func(c *Config) { c.ProgressTTL = time.Microsecond }, true},
		{"negative timeout", func(c *Config) { c.ReadTimeout = -time.Second }, true},
		{"prefix with a space", func(c *Config) { c.Prefix = "a b:" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestConfig_RedisOptionsFailFast(t *testing.T) {
	cfg := DefaultConfig()
	// Timeouts in the URL are overridden: the callers rely on fast errors.
	cfg.RedisURL = "redis://127.0.0.1:6379/3?read_timeout=30s&dial_timeout=30s"
	opts, err := cfg.withDefaults().redisOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.DB != 3 || opts.DialTimeout != time.Second || opts.ReadTimeout != 500*time.Millisecond ||
		opts.WriteTimeout != 500*time.Millisecond || opts.MaxRetries != 1 || opts.DialerRetries != 1 {
		t.Fatalf("options = db %d dial %s read %s write %s retries %d dial retries %d",
			opts.DB, opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.MaxRetries, opts.DialerRetries)
	}
}

func TestOpen_PicksBackend(t *testing.T) {
	tests := []struct {
		name        string
		url         func(t *testing.T) string
		wantBackend string
	}{
		{"no url is in-process", func(*testing.T) string { return "" }, "memory"},
		{"url is redis", func(t *testing.T) string { return needRedis(t).URL() }, "redis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.RedisURL = tt.url(t)
			s, err := Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Backend != tt.wantBackend {
				t.Fatalf("Backend = %q, want %q", s.Backend, tt.wantBackend)
			}
			if err := s.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		})
	}
}

func TestOpen_InvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit.Burst = -1
	if _, err := Open(context.Background(), cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Open = %v, want ErrInvalidConfig", err)
	}
	if _, err := NewFromURL(context.Background(), "mongodb://x"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewFromURL = %v, want ErrInvalidConfig", err)
	}
}
