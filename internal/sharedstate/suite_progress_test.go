package sharedstate

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// recv waits up to 2s for a value.
func recv(t *testing.T, ch <-chan float64) float64 {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return v
	case <-time.After(2 * time.Second):
		t.Fatal("no progress value in 2s")
	}
	return 0
}

// drainUntil reads values until want arrives, checking they never go
// backwards, and returns how many it read.
func drainUntil(t *testing.T, ch <-chan float64, want float64) int {
	t.Helper()
	n, last := 0, -1.0
	for {
		v := recv(t, ch)
		n++
		if v < last {
			t.Fatalf("progress went back from %v to %v", last, v)
		}
		if v == want {
			return n
		}
		last = v
	}
}

func TestProgress_FanOutLatestValue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(Config) *Set) {
		p := open(DefaultConfig()).Progress
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		publish := func(v float64) {
			t.Helper()
			if err := p.Publish(ctx, "job_1", v); err != nil {
				t.Fatal(err)
			}
		}
		sub := func() <-chan float64 {
			t.Helper()
			ch, err := p.Subscribe(ctx, "job_1")
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}
		fast, slow := sub(), sub()

		t.Run("every subscriber gets a value", func(t *testing.T) {
			publish(0.1)
			for _, ch := range []<-chan float64{fast, slow} {
				if v := recv(t, ch); v != 0.1 {
					t.Fatalf("got %v, want 0.1", v)
				}
			}
		})

		t.Run("a slow subscriber does not block Publish and gets the latest", func(t *testing.T) {
			start := time.Now()
			const n = 200
			for i := 1; i <= n; i++ {
				publish(0.1 + 0.9*float64(i)/n)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("%d publishes with an unread subscriber took %s", n, took)
			}
			drainUntil(t, fast, 1)
			if got := drainUntil(t, slow, 1); got >= n {
				t.Fatalf("slow subscriber got all %d values; intermediate ones should be dropped", got)
			}
		})

		t.Run("a late subscriber gets the latest value first", func(t *testing.T) {
			if v := recv(t, sub()); v != 1 {
				t.Fatalf("late subscriber's first value = %v, want 1", v)
			}
		})

		t.Run("other jobs are not mixed in", func(t *testing.T) {
			if err := p.Publish(ctx, "job_2", 0.3); err != nil {
				t.Fatal(err)
			}
			select {
			case v := <-fast:
				t.Fatalf("job_1 subscriber got %v published for job_2", v)
			case <-time.After(100 * time.Millisecond):
			}
		})

		t.Run("channels close when ctx ends", func(t *testing.T) {
			cancel()
			for _, ch := range []<-chan float64{fast, slow} {
				deadline := time.After(2 * time.Second)
				for closed := false; !closed; {
					select {
					case _, ok := <-ch:
						closed = !ok
					case <-deadline:
						t.Fatal("subscription still open 2s after ctx ended")
					}
				}
			}
		})
	})
}

func TestProgress_LatestExpiresAndValidates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(Config) *Set) {
		cfg := DefaultConfig()
		cfg.ProgressTTL = 150 * time.Millisecond
		p := open(cfg).Progress
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for _, bad := range []float64{-0.1, 1.5, math.NaN()} {
			if err := p.Publish(ctx, "job", bad); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("Publish(%v) = %v, want ErrInvalidArgument", bad, err)
			}
		}
		if err := p.Publish(ctx, "job", 0.4); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		ch, err := p.Subscribe(ctx, "job")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-ch:
			t.Fatalf("subscriber got %v, published longer ago than the TTL", v)
		case <-time.After(150 * time.Millisecond):
		}
	})
}
