package sharedstate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedis_KeysNamespacedWithTTL(t *testing.T) {
	srv := needRedis(t)
	cfg := DefaultConfig()
	cfg.RedisURL = srv.URL()
	cfg.Prefix = "stickerd:ns-test:"
	cfg.RateLimit = RateLimit{Rate: 10, Burst: 4}
	ctx := context.Background()
	s, err := NewRedis(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Cache.Put(ctx, "k", "job_1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Limiter.Allow(ctx, "tenant"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Idempotency.Reserve(ctx, "key", "h", "job_1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Progress.Publish(ctx, "job_1", 0.5); err != nil {
		t.Fatal(err)
	}

	raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer raw.Close()
	// Idle tenants leave nothing behind: a bucket lives at most until it
	// is full again, burst × interval.
	maxTTL := map[string]time.Duration{
		"stickerd:ns-test:cache:k":               time.Minute,
		"stickerd:ns-test:rl:tenant":             400 * time.Millisecond,
		"stickerd:ns-test:idem:key":              time.Minute,
		"stickerd:ns-test:progress-latest:job_1": cfg.ProgressTTL,
	}
	keys, err := raw.Keys(ctx, "stickerd:ns-test:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(maxTTL) {
		t.Fatalf("keys under the prefix = %v, want %d keys", keys, len(maxTTL))
	}
	for key, max := range maxTTL {
		t.Run(key, func(t *testing.T) {
			ttl, err := raw.PTTL(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl <= 0 || ttl > max {
				t.Fatalf("PTTL = %s, want in (0, %s]", ttl, max)
			}
		})
	}
}

func TestNewRedis_Unreachable(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	srv := &redisServer{Port: port} // nothing listens there
	start := time.Now()
	_, err = NewFromURL(context.Background(), srv.URL())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("NewFromURL to a closed port = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("NewFromURL took %s to fail", took)
	}
}

// TestRedis_Outage kills redis-server under a live Set: every method must
// fail fast with ErrUnavailable, and the same Set must work again once
// redis-server is back on the same port.
func TestRedis_Outage(t *testing.T) {
	needRedis(t)
	srv, err := startRedisServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := NewFromURL(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"ping", s.Ping},
		{"cache put", func(ctx context.Context) error { return s.Cache.Put(ctx, "k", "job_1", time.Minute) }},
		{"cache get", func(ctx context.Context) error { _, _, err := s.Cache.Get(ctx, "k"); return err }},
		{"allow", func(ctx context.Context) error { _, _, err := s.Limiter.Allow(ctx, "tenant"); return err }},
		{"reserve", func(ctx context.Context) error {
			_, _, _, err := s.Idempotency.Reserve(ctx, "key", "h", "job_1", time.Minute)
			return err
		}},
		{"publish", func(ctx context.Context) error { return s.Progress.Publish(ctx, "job_1", 0.5) }},
		{"subscribe", func(ctx context.Context) error {
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			_, err := s.Progress.Subscribe(sctx, "job_1")
			return err
		}},
	}
	runAll := func(t *testing.T) {
		for _, c := range calls {
			if err := c.call(ctx); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
	}
	runAll(t)

	t.Run("hung", func(t *testing.T) {
		// A frozen Redis accepts connections but never answers: only
		// timeouts end the calls.
		if err := freeze(srv.cmd.Process); err != nil {
			t.Skip(err)
		}
		defer thaw(srv.cmd.Process)
		for _, c := range calls {
			start := time.Now()
			err := c.call(context.Background())
			if took := time.Since(start); !errors.Is(err, ErrUnavailable) || took > time.Second {
				t.Errorf("%s against a hung Redis: err %v after %s, want ErrUnavailable in under 1s", c.name, err, took)
			}
		}
	})
	if err := thaw(srv.cmd.Process); err == nil {
		deadline := time.Now().Add(5 * time.Second)
		for s.Ping(ctx) != nil {
			if time.Now().After(deadline) {
				t.Fatal("Ping still failing 5s after redis-server was thawed")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// A subscription open across the outage.
	survivor, err := s.Progress.Subscribe(ctx, "job_survivor")
	if err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	t.Run("down", func(t *testing.T) {
		for _, c := range calls {
			t.Run(c.name, func(t *testing.T) {
				start := time.Now()
				err := c.call(context.Background())
				took := time.Since(start)
				if !errors.Is(err, ErrUnavailable) {
					t.Errorf("err = %v, want ErrUnavailable", err)
				}
				if took > time.Second {
					t.Errorf("took %s to fail, want under 1s", took)
				}
			})
		}
	})

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Run("back", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for s.Ping(ctx) != nil {
			if time.Now().After(deadline) {
				t.Fatal("Ping still failing 5s after redis-server restarted")
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The restarted server has lost its script cache: Allow and Reserve
		// go through the EVAL fallback.
		runAll(t)
	})

	t.Run("open subscription resumes", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			if err := s.Progress.Publish(ctx, "job_survivor", 0.9); err != nil {
				t.Fatal(err)
			}
			select {
			case v := <-survivor:
				if v != 0.9 {
					t.Fatalf("got %v, want 0.9", v)
				}
				return
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatal("subscription opened before the outage got nothing 5s after the restart")
			}
		}
	})
}
