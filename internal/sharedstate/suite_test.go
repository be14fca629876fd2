package sharedstate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend builds a Set for one test; the shared suite runs every test
// against each of them.
type backend struct {
	name string
	open func(t *testing.T, cfg Config) *Set
}

var prefixSeq atomic.Int64

func backends() []backend {
	return []backend{
		{"memory", func(t *testing.T, cfg Config) *Set {
			s, err := NewMemory(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"redis", func(t *testing.T, cfg Config) *Set {
			srv := needRedis(t)
			cfg.RedisURL = srv.URL()
			// Tests share one server: each gets its own namespace.
			cfg.Prefix = fmt.Sprintf("stickerd:test%d:", prefixSeq.Add(1))
			s, err := NewRedis(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	}
}

// forEachBackend runs fn as a subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, open func(Config) *Set)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			fn(t, func(cfg Config) *Set { return b.open(t, cfg) })
		})
	}
}

func TestCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(Config) *Set) {
		c := open(DefaultConfig()).Cache
		ctx := context.Background()
		steps := []struct {
			name string
			run  func(t *testing.T)
		}{
			{"miss", func(t *testing.T) {
				if _, ok, err := c.Get(ctx, "nope"); ok || err != nil {
					t.Fatalf("Get(nope) = ok %v, err %v; want a miss", ok, err)
				}
			}},
			{"put then get", func(t *testing.T) {
				mustPut(t, c, "k1", "job_1", time.Minute)
				wantCached(t, c, "k1", "job_1")
			}},
			{"put replaces", func(t *testing.T) {
				mustPut(t, c, "k1", "job_2", time.Minute)
				wantCached(t, c, "k1", "job_2")
			}},
			{"expires", func(t *testing.T) {
				mustPut(t, c, "short", "job_3", 150*time.Millisecond)
				wantCached(t, c, "short", "job_3")
				time.Sleep(250 * time.Millisecond)
				if _, ok, err := c.Get(ctx, "short"); ok || err != nil {
					t.Fatalf("Get after TTL = ok %v, err %v; want a miss", ok, err)
				}
			}},
			{"rejects zero ttl", func(t *testing.T) {
				if err := c.Put(ctx, "k", "j", 0); !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("Put(ttl 0) = %v, want ErrInvalidArgument", err)
				}
			}},
		}
		for _, s := range steps {
			t.Run(s.name, s.run)
		}
	})
}

func mustPut(t *testing.T, c ResultCache, key, jobID string, ttl time.Duration) {
	t.Helper()
	if err := c.Put(context.Background(), key, jobID, ttl); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func wantCached(t *testing.T, c ResultCache, key, jobID string) {
	t.Helper()
	got, ok, err := c.Get(context.Background(), key)
	if err != nil || !ok || got != jobID {
		t.Fatalf("Get(%s) = %q, %v, %v; want %q", key, got, ok, err, jobID)
	}
}

func TestIdempotency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(Config) *Set) {
		idem := open(DefaultConfig()).Idempotency
		ctx := context.Background()
		tests := []struct {
			name              string
			key, hash, job    string
			ttl               time.Duration
			wantHash, wantJob string
			wantFresh         bool
			sleepBefore       time.Duration
		}{
			{"new key is fresh", "a", "h1", "job_1", time.Minute, "h1", "job_1", true, 0},
			{"same key and body returns the first job", "a", "h1", "job_2", time.Minute, "h1", "job_1", false, 0},
			{"same key, other body returns the stored hash", "a", "h2", "job_3", time.Minute, "h1", "job_1", false, 0},
			{"other key is fresh", "b", "h2", "job_4", 150 * time.Millisecond, "h2", "job_4", true, 0},
			{"expired key is fresh again", "b", "h3", "job_5", time.Minute, "h3", "job_5", true, 250 * time.Millisecond},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				time.Sleep(tt.sleepBefore)
				hash, job, fresh, err := idem.Reserve(ctx, tt.key, tt.hash, tt.job, tt.ttl)
				if err != nil {
					t.Fatal(err)
				}
				if hash != tt.wantHash || job != tt.wantJob || fresh != tt.wantFresh {
					t.Fatalf("Reserve = (%q, %q, %v), want (%q, %q, %v)", hash, job, fresh, tt.wantHash, tt.wantJob, tt.wantFresh)
				}
			})
		}
		t.Run("rejects zero ttl", func(t *testing.T) {
			if _, _, _, err := idem.Reserve(ctx, "z", "h", "j", 0); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("Reserve(ttl 0) = %v, want ErrInvalidArgument", err)
			}
		})
		t.Run("50 concurrent reservations, one fresh", func(t *testing.T) {
			const n = 50
			var wg sync.WaitGroup
			var fresh atomic.Int32
			jobs := make([]string, n)
			errs := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					var isFresh bool
					_, jobs[i], isFresh, errs[i] = idem.Reserve(ctx, "race", "h", fmt.Sprintf("job_%d", i), time.Minute)
					if isFresh {
						fresh.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if fresh.Load() != 1 {
				t.Fatalf("%d reservations were fresh, want exactly 1", fresh.Load())
			}
			for i, j := range jobs {
				if j != jobs[0] {
					t.Fatalf("reservation %d saw job %q, reservation 0 saw %q", i, j, jobs[0])
				}
			}
		})
	})
}

func TestCanceledContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(Config) *Set) {
		s := open(DefaultConfig())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		calls := []struct {
			name string
			call func() error
		}{
			{"cache get", func() error { _, _, err := s.Cache.Get(ctx, "k"); return err }},
			{"cache put", func() error { return s.Cache.Put(ctx, "k", "j", time.Minute) }},
			{"allow", func() error { _, _, err := s.Limiter.Allow(ctx, "t"); return err }},
			{"reserve", func() error { _, _, _, err := s.Idempotency.Reserve(ctx, "k", "h", "j", time.Minute); return err }},
			{"publish", func() error { return s.Progress.Publish(ctx, "job", 0.5) }},
			{"subscribe", func() error { _, err := s.Progress.Subscribe(ctx, "job"); return err }},
		}
		for _, c := range calls {
			t.Run(c.name, func(t *testing.T) {
				if err := c.call(); !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", err)
				}
				if errors.Is(c.call(), ErrUnavailable) {
					t.Fatal("a canceled call reported the store unavailable")
				}
			})
		}
	})
}
