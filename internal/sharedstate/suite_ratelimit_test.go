package sharedstate

import (
	"context"
	"testing"
	"time"
)

func TestRateLimiter_BurstDenyRefill(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(Config) *Set) {
		const interval = 200 * time.Millisecond
		cfg := DefaultConfig()
		cfg.RateLimit = RateLimit{Rate: 5, Burst: 3}
		l := open(cfg).Limiter
		ctx := context.Background()
		allow := func(key string) (bool, time.Duration) {
			t.Helper()
			ok, retry, err := l.Allow(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if ok && retry != 0 {
				t.Fatalf("allowed with retryAfter %s", retry)
			}
			return ok, retry
		}

		start := time.Now()
		for i := range 3 {
			if ok, retry := allow("tenant-a"); !ok {
				t.Fatalf("request %d of the burst denied (retry %s)", i+1, retry)
			}
		}
		burstTook := time.Since(start)

		ok, retry1 := allow("tenant-a")
		elapsed := time.Since(start) // up to the answer to request 4
		if ok {
			t.Fatal("request 4 allowed past a burst of 3")
		}
		// The next token comes one interval after the first request: the
		// wait is an interval less what has passed since then.
		if retry1 > interval || retry1 < interval-elapsed-time.Millisecond {
			t.Fatalf("retryAfter = %s after a burst taking %s (%s in all), want about %s", retry1, burstTook, elapsed, interval)
		}

		t.Run("other tenants have their own bucket", func(t *testing.T) {
			if ok, _ := allow("tenant-b"); !ok {
				t.Fatal("tenant-b denied by tenant-a's burst")
			}
		})

		t.Run("a denial takes no token and counts down", func(t *testing.T) {
			const wait = 50 * time.Millisecond
			time.Sleep(wait)
			ok, retry2 := allow("tenant-a")
			if ok {
				t.Fatalf("allowed %s before the announced retryAfter %s", wait, retry1)
			}
			if retry2 <= 0 || retry2 > retry1-wait+time.Millisecond {
				t.Fatalf("retryAfter went from %s to %s over %s; want at most %s", retry1, retry2, wait, retry1-wait)
			}
			time.Sleep(retry2)
			if ok, retry := allow("tenant-a"); !ok {
				t.Fatalf("denied after waiting the announced retryAfter %s (now %s)", retry2, retry)
			}
		})

		t.Run("one token per interval after the burst", func(t *testing.T) {
			ok, retry3 := allow("tenant-a")
			if ok {
				t.Fatal("second request allowed right after a refill of one token")
			}
			if retry3 > interval || retry3 < interval/2 {
				t.Fatalf("retryAfter = %s, want about one interval (%s)", retry3, interval)
			}
		})
	})
}

func TestRateLimiter_IdleBucketRefills(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(Config) *Set) {
		cfg := DefaultConfig()
		cfg.RateLimit = RateLimit{Rate: 20, Burst: 2} // 50ms per token
		l := open(cfg).Limiter
		ctx := context.Background()
		for round := range 2 {
			for i := range 2 {
				if ok, retry, err := l.Allow(ctx, "t"); err != nil || !ok {
					t.Fatalf("round %d request %d: ok %v retry %s err %v", round, i, ok, retry, err)
				}
			}
			if ok, _, _ := l.Allow(ctx, "t"); ok {
				t.Fatalf("round %d: third request allowed past a burst of 2", round)
			}
			// Two intervals refill the whole burst.
			time.Sleep(120 * time.Millisecond)
		}
	})
}
