package queue

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestLatency_PublishToHandler measures the time from the start of Publish to
// the handler seeing the message, with the default BatchTimeout and MaxWait,
// through a real (embedded) broker on loopback. It logs p50/p99 and asserts
// nothing about time.
func TestLatency_PublishToHandler(t *testing.T) {
	tests := []struct {
		name       string
		publishers int // concurrent publishing goroutines
	}{
		{"one publisher", 1},
		{"eight publishers", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pubs, dels := measureLatency(t, 200, tt.publishers)
			t.Logf("Publish (acked)  n=%d p50=%v p99=%v max=%v", len(pubs), pct(pubs, 50), pct(pubs, 99), pct(pubs, 100))
			t.Logf("Publish→handler  n=%d p50=%v p99=%v max=%v", len(dels), pct(dels, 50), pct(dels, 99), pct(dels, 100))
		})
	}
}

// measureLatency publishes n messages with distinct keys from publishers
// goroutines, each one waiting a little between messages like independent
// submissions, and returns the Publish durations and the publish→handler
// delays.
func measureLatency(t *testing.T, n, publishers int) (pubs, dels []time.Duration) {
	b := startBroker(t, "")
	cfg := testConfig(b.Addr())
	cfg.BatchTimeout, cfg.MaxWait = DefaultConfig().BatchTimeout, DefaultConfig().MaxWait
	p := newProducer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	delivered := make(chan time.Duration, n+1)
	runConsumer(t, cfg, uniqueGroup(t), TopicJobs, func(_ context.Context, m Message) error {
		if len(m.Value) == 8 {
			delivered <- time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(m.Value))))
		}
		return nil
	})
	// Wait for the group to form and the partition readers to start, so
	// the numbers are steady state, not join time.
	if err := p.Publish(ctx, TopicJobs, []byte("warm-up"), []byte("w")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	time.Sleep(300 * time.Millisecond)

	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range publishers {
		wg.Go(func() {
			for i := w; i < n; i += publishers {
				start := time.Now()
				v := binary.BigEndian.AppendUint64(nil, uint64(start.UnixNano()))
				if err := p.Publish(ctx, TopicJobs, []byte(fmt.Sprintf("job-%d", i)), v); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				mu.Lock()
				pubs = append(pubs, time.Since(start))
				mu.Unlock()
				time.Sleep(time.Duration(i%5) * time.Millisecond)
			}
		})
	}
	wg.Wait()
	for range n {
		select {
		case d := <-delivered:
			dels = append(dels, d)
		case <-ctx.Done():
			t.Fatalf("%d of %d messages delivered", len(dels), n)
		}
	}
	return pubs, dels
}

// pct returns the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)].Round(10 * time.Microsecond)
}
