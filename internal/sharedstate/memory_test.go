package sharedstate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
)

func TestMemoryCache_EvictsLeastRecentlyUsed(t *testing.T) {
	c := NewMemoryCache(2)
	ctx := context.Background()
	mustPut(t, c, "a", "job_a", time.Minute)
	mustPut(t, c, "b", "job_b", time.Minute)
	wantCached(t, c, "a", "job_a") // a is now more recent than b
	mustPut(t, c, "c", "job_c", time.Minute)
	tests := []struct {
		key    string
		wantOK bool
	}{{"a", true}, {"b", false}, {"c", true}}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if _, ok, _ := c.Get(ctx, tt.key); ok != tt.wantOK {
				t.Fatalf("Get(%s) ok = %v, want %v", tt.key, ok, tt.wantOK)
			}
		})
	}
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
}

func TestMemory_IdleKeysAreSwept(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// fill adds 100 keys that go idle within a second; size reports
		// how many are held.
		fill func(fake *clock.Fake) (size func() int, touch func())
	}{
		{"rate limiter", func(fake *clock.Fake) (func() int, func()) {
			l := NewMemoryRateLimiter(RateLimit{Rate: 10, Burst: 5})
			l.clock = fake
			for i := range 100 {
				l.Allow(ctx, fmt.Sprintf("tenant-%d", i))
			}
			return l.Len, func() { l.Allow(ctx, "tenant-0") }
		}},
		{"idempotency", func(fake *clock.Fake) (func() int, func()) {
			m := NewMemoryIdempotency()
			m.clock = fake
			for i := range 100 {
				m.Reserve(ctx, fmt.Sprintf("key-%d", i), "h", "j", time.Second)
			}
			return m.Len, func() { m.Reserve(ctx, "key-0", "h", "j", time.Second) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := clock.NewFake(time.Unix(1_700_000_000, 0))
			size, touch := tt.fill(fake)
			if size() != 100 {
				t.Fatalf("holding %d keys, want 100", size())
			}
			fake.Advance(sweepEvery)
			touch()
			if size() != 1 {
				t.Fatalf("holding %d keys after a sweep, want only the one just used", size())
			}
		})
	}
}

// NewMemory runs the in-process stores on Config.Clock.
func TestNewMemory_UsesConfigClock(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	set, err := NewMemory(Config{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, set.Cache, "a", "job_a", time.Minute)
	wantCached(t, set.Cache, "a", "job_a")
	fake.Advance(time.Minute)
	if _, ok, _ := set.Cache.Get(context.Background(), "a"); ok {
		t.Fatal("the entry outlived its TTL on the fake clock")
	}
}

func TestMemoryProgress_UnsubscribeOnCancel(t *testing.T) {
	p := NewMemoryProgress(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := p.Subscribe(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Subscribers("job"); n != 1 {
		t.Fatalf("Subscribers = %d, want 1", n)
	}
	cancel()
	for range ch {
	}
	if n := p.Subscribers("job"); n != 0 {
		t.Fatalf("Subscribers after cancel = %d, want 0", n)
	}
	// Publishing to a job nobody follows any more is fine.
	if err := p.Publish(context.Background(), "job", 1); err != nil {
		t.Fatal(err)
	}
}
