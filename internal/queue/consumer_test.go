package queue

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestConsumer_CommitsOnlyAfterHandlerSucceeds(t *testing.T) {
	b := startBroker(t, "")
	cfg := testConfig(b.Addr())
	p := newProducer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	group := uniqueGroup(t)

	for _, v := range []string{"m1", "m2"} {
		if err := p.Publish(ctx, TopicJobs, []byte("job-1"), []byte(v)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}

	// The handler fails m1's first delivery and blocks on m2 so that the
	// committed offset can be read while nothing else moves.
	deliveries := make(chan string, 16)
	release := make(chan struct{})
	var mu sync.Mutex
	attempts := map[string]int{}
	h := func(ctx context.Context, m Message) error {
		mu.Lock()
		attempts[string(m.Value)]++
		n := attempts[string(m.Value)]
		mu.Unlock()
		deliveries <- string(m.Value)
		if string(m.Value) == "m1" && n == 1 {
			return errors.New("transient failure")
		}
		if string(m.Value) == "m2" {
			<-release
		}
		return nil
	}
	r := runConsumer(t, cfg, group, TopicJobs, h)

	var got []string
	for range 3 {
		select {
		case v := <-deliveries:
			got = append(got, v)
		case <-ctx.Done():
			t.Fatalf("deliveries so far %v", got)
		}
	}
	if want := []string{"m1", "m1", "m2"}; !equal(got, want) {
		t.Fatalf("deliveries %v, want %v (m1 retried, never skipped)", got, want)
	}
	// m1 (offset 0) gets committed, by the committer goroutine, so
	// shortly after m2 reached the handler: the next offset to read is 1.
	// m2 is still being handled (it blocks on release), so the offset
	// cannot pass 1 until release is closed.
	partition := -1
	waitFor(t, 5*time.Second, func() bool {
		for part := range testPartitions {
			if off := committed(t, b.Addr(), group, TopicJobs, part); off >= 0 {
				partition = part
				return true
			}
		}
		return false
	})
	if off := committed(t, b.Addr(), group, TopicJobs, partition); off != 1 {
		t.Fatalf("committed offset %d while m2 is in the handler, want 1", off)
	}
	close(release)
	waitFor(t, 5*time.Second, func() bool { return committed(t, b.Addr(), group, TopicJobs, partition) == 2 })

	// A new member of the group starts after the committed offset.
	r.stop()
	if err := r.wait(t, 5*time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	r.c.Close()
	if err := p.Publish(ctx, TopicJobs, []byte("job-1"), []byte("m3")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	rec := newRecorder()
	runConsumer(t, cfg, group, TopicJobs, rec.handle)
	if m := next(t, rec.ch, 10*time.Second); string(m.Value) != "m3" {
		t.Fatalf("new member got %q first, want m3", m.Value)
	}
}

func TestConsumer_RedeliversWhenStoppedBeforeCommit(t *testing.T) {
	tests := []struct {
		name string
		// stop interrupts the consumer while the handler works on m1.
		stop func(r *running)
		// result is what the handler returns once stop has happened.
		result  func(ctx context.Context) error
		wantRun error
		// wantFirst is what a new member of the group gets first: m1
		// again when it was not committed, else m2, published later.
		wantFirst string
	}{
		{
			name:      "closed while handling",
			stop:      func(r *running) { r.c.Close() },
			result:    func(context.Context) error { return nil },
			wantRun:   ErrClosed,
			wantFirst: "m1",
		},
		{
			name:      "context ended and handler gave up",
			stop:      func(r *running) { r.stop() },
			result:    func(ctx context.Context) error { return ctx.Err() },
			wantRun:   nil,
			wantFirst: "m1",
		},
		{
			// Graceful shutdown: work that finished is committed.
			name:      "context ended and handler finished",
			stop:      func(r *running) { r.stop() },
			result:    func(context.Context) error { return nil },
			wantRun:   nil,
			wantFirst: "m2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBroker(t, "")
			cfg := testConfig(b.Addr())
			p := newProducer(t, cfg)
			group := uniqueGroup(t)
			publish := func(v string) {
				t.Helper()
				if err := p.Publish(context.Background(), TopicJobs, []byte("job-1"), []byte(v)); err != nil {
					t.Fatalf("Publish: %v", err)
				}
			}
			publish("m1")

			working := make(chan struct{})
			stopped := make(chan struct{})
			r := runConsumer(t, cfg, group, TopicJobs, func(ctx context.Context, _ Message) error {
				close(working)
				<-stopped // the "crash" happens while we are here
				return tt.result(ctx)
			})
			select {
			case <-working:
			case <-time.After(10 * time.Second):
				t.Fatal("handler never called")
			}
			tt.stop(r)
			close(stopped)
			if err := r.wait(t, 10*time.Second); !errors.Is(err, tt.wantRun) {
				t.Fatalf("Run: %v, want %v", err, tt.wantRun)
			}
			r.c.Close()
			publish("m2")

			rec := newRecorder()
			runConsumer(t, cfg, group, TopicJobs, rec.handle)
			if m := next(t, rec.ch, 10*time.Second); string(m.Value) != tt.wantFirst {
				t.Fatalf("new member got %q first, want %s", m.Value, tt.wantFirst)
			}
		})
	}
}

func TestConsumer_LagCountsUncommittedMessages(t *testing.T) {
	b := startBroker(t, "")
	cfg := testConfig(b.Addr())
	p := newProducer(t, cfg)
	const n = 5
	for range n {
		if err := p.Publish(context.Background(), TopicJobs, []byte("job-1"), []byte("v")); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	block := make(chan struct{})
	defer close(block)
	r := runConsumer(t, cfg, uniqueGroup(t), TopicJobs, func(ctx context.Context, _ Message) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	})
	waitFor(t, 10*time.Second, func() bool { return r.c.Lag() == n })
}

func TestConsumer_KeepsRetryingWhileBrokerRestarts(t *testing.T) {
	b := startBroker(t, "")
	addr := b.Addr()
	cfg := testConfig(addr)
	p := newProducer(t, cfg)
	rec := newRecorder()
	r := runConsumer(t, cfg, uniqueGroup(t), TopicJobs, rec.handle)
	if err := p.Publish(context.Background(), TopicJobs, []byte("job-1"), []byte("before")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	next(t, rec.ch, 10*time.Second)

	b.Close()
	select {
	case err := <-r.errc:
		t.Fatalf("Run returned while the broker was down: %v", err)
	case <-time.After(time.Second):
	}

	// kfake keeps nothing across a restart: the topics are seeded again,
	// empty, and the group and its offsets are gone.
	startBroker(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		err := p.Publish(ctx, TopicJobs, []byte("job-1"), []byte("after"))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Publish after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := next(t, rec.ch, 20*time.Second); string(m.Value) != "after" {
		t.Fatalf("after restart got %q, want \"after\"", m.Value)
	}
}

func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
