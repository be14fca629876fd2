package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConsumer_GroupSplitsPartitionsBetweenMembers starts a second member in
// a group that already has one, and checks that each then gets messages and
// that no message is lost. It logs how long the first member took to join an
// empty group and how long the rebalance for the second one took.
func TestConsumer_GroupSplitsPartitionsBetweenMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("rebalance waits for a heartbeat")
	}
	b := startBroker(t, "")
	cfg := testConfig(b.Addr())
	p := newProducer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	group := uniqueGroup(t)

	var mu sync.Mutex
	byMember := map[string]map[string]bool{} // member → values seen
	seen := make(chan string, 1024)
	handlerFor := func(member string) Handler {
		mu.Lock()
		byMember[member] = map[string]bool{}
		mu.Unlock()
		return func(_ context.Context, m Message) error {
			mu.Lock()
			byMember[member][string(m.Value)] = true
			mu.Unlock()
			seen <- member
			return nil
		}
	}
	publish := func(round int) {
		for k := range 16 { // 16 keys cover the 4 partitions
			key := fmt.Sprintf("job-%d", k)
			if err := p.Publish(ctx, TopicJobs, []byte(key), []byte(fmt.Sprintf("%s/%d", key, round))); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}
	}

	publish(0)
	start := time.Now()
	runConsumer(t, cfg, group, TopicJobs, handlerFor("a"))
	<-seen
	t.Logf("first member of an empty group: first message after %v", time.Since(start))

	start = time.Now()
	runConsumer(t, cfg, group, TopicJobs, handlerFor("b"))
	for round := 1; ; round++ {
		publish(round)
		if waitMember(ctx, seen, "b", 200*time.Millisecond) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("second member never got a message")
		}
	}
	t.Logf("second member: first message after %v (rebalance; HeartbeatInterval %v)", time.Since(start), cfg.HeartbeatInterval)

	// After the rebalance, both members get a share of a new round.
	const last = 1000
	publish(last)
	waitFor(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for k := range 16 {
			v := fmt.Sprintf("job-%d/%d", k, last)
			if byMember["a"][v] || byMember["b"][v] {
				n++
			}
		}
		return n == 16
	})
	mu.Lock()
	defer mu.Unlock()
	for _, member := range []string{"a", "b"} {
		n := 0
		for k := range 16 {
			if byMember[member][fmt.Sprintf("job-%d/%d", k, last)] {
				n++
			}
		}
		if n == 0 {
			t.Errorf("member %s got none of the last round", member)
		}
	}
}

// waitMember drains seen until member shows up (true) or within passes.
func waitMember(ctx context.Context, seen <-chan string, member string, within time.Duration) bool {
	timeout := time.After(within)
	for {
		select {
		case m := <-seen:
			if m == member {
				return true
			}
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
