package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/stickerd/stickerd/internal/errcode"
)

func TestProducer_RoundTripKeepsKeysAndPerKeyOrder(t *testing.T) {
	b := startBroker(t, "")
	cfg := testConfig(b.Addr())
	p := newProducer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	keys := []string{"job-a", "job-b", "job-c", "job-d", "job-e"}
	const perKey = 20
	for i := range perKey {
		for _, k := range keys {
			if err := p.Publish(ctx, TopicJobs, []byte(k), []byte(fmt.Sprintf("%s/%d", k, i))); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}
	}

	rec := newRecorder()
	runConsumer(t, cfg, uniqueGroup(t), TopicJobs, rec.handle)
	seen := map[string]int{}
	partitionOf := map[string]int{}
	for range perKey * len(keys) {
		m := next(t, rec.ch, 10*time.Second)
		k := string(m.Key)
		if want := fmt.Sprintf("%s/%d", k, seen[k]); string(m.Value) != want {
			t.Fatalf("key %s: got %q, want %q (out of order or wrong key)", k, m.Value, want)
		}
		if p, ok := partitionOf[k]; ok && p != m.Partition {
			t.Fatalf("key %s moved from partition %d to %d", k, p, m.Partition)
		}
		partitionOf[k] = m.Partition
		if m.Topic != TopicJobs || m.Time.IsZero() {
			t.Fatalf("message metadata: topic %q time %v", m.Topic, m.Time)
		}
		seen[k]++
	}
	for _, k := range keys {
		if seen[k] != perKey {
			t.Errorf("key %s: %d messages, want %d", k, seen[k], perKey)
		}
	}
}

func TestProducer_PublishJSON(t *testing.T) {
	b := startBroker(t, "")
	cfg := testConfig(b.Addr())
	p := newProducer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type event struct {
		JobID string `json:"job_id"`
		State string `json:"state"`
	}
	if err := p.PublishJSON(ctx, TopicEvents, "job-1", event{"job-1", "queued"}); err != nil {
		t.Fatalf("PublishJSON: %v", err)
	}
	if err := p.PublishJSON(ctx, TopicEvents, "job-1", func() {}); err == nil {
		t.Fatal("PublishJSON of a func succeeded")
	}

	rec := newRecorder()
	runConsumer(t, cfg, uniqueGroup(t), TopicEvents, rec.handle)
	m := next(t, rec.ch, 10*time.Second)
	var got event
	if err := json.Unmarshal(m.Value, &got); err != nil || got != (event{"job-1", "queued"}) || string(m.Key) != "job-1" {
		t.Fatalf("got key %q value %s (%v)", m.Key, m.Value, err)
	}
}

func TestProducer_PublishFailsUnavailableWhenBrokerIsDown(t *testing.T) {
	const writeTimeout = 500 * time.Millisecond
	producerFor := func(t *testing.T, addr string) *Producer {
		cfg := testConfig(addr)
		cfg.WriteTimeout = writeTimeout
		return newProducer(t, cfg)
	}
	tests := []struct {
		name     string
		producer func(t *testing.T) *Producer
	}{
		{"never started", func(t *testing.T) *Producer { return producerFor(t, freeAddr(t)) }},
		{"stopped after use", func(t *testing.T) *Producer {
			b := startBroker(t, "")
			p := producerFor(t, b.Addr())
			if err := p.Publish(context.Background(), TopicJobs, []byte("k"), []byte("v")); err != nil {
				t.Fatalf("Publish while up: %v", err)
			}
			b.Close()
			return p
		}},
		{"accepts but never answers", func(t *testing.T) *Producer {
			return producerFor(t, silentListener(t))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.producer(t)
			start := time.Now()
			err := p.Publish(context.Background(), TopicJobs, []byte("k"), []byte("v"))
			elapsed := time.Since(start)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Publish: %v, want ErrUnavailable", err)
			}
			if code := errcode.Of(err); code != errcode.QueueUnavailable {
				t.Errorf("errcode.Of = %s, want %s", code, errcode.QueueUnavailable)
			}
			// Generous slack: this bounds a hang, it does not time the code.
			if elapsed > writeTimeout+2*time.Second {
				t.Errorf("Publish took %v, WriteTimeout is %v", elapsed, writeTimeout)
			}
			t.Logf("failed after %v: %v", elapsed, err)
		})
	}
}

// silentListener accepts connections on loopback and never answers, like a
// hung broker.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestProducer_CallerCancelIsNotUnavailable(t *testing.T) {
	cfg := testConfig(freeAddr(t))
	p := newProducer(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Publish(ctx, TopicJobs, []byte("k"), []byte("v"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish with a canceled ctx: %v, want context.Canceled only", err)
	}
}

func TestProducer_PublishAfterCloseFails(t *testing.T) {
	p := newProducer(t, testConfig(freeAddr(t)))
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := p.Publish(context.Background(), TopicJobs, nil, []byte("v")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
}

func TestEnsureTopics_CreatesMissingTopicsIdempotently(t *testing.T) {
	b := startBroker(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// TopicJobs exists already (seeded with testPartitions); "extra" does not.
	for i := range 2 {
		if err := EnsureTopics(ctx, []string{b.Addr()}, 2, 1, TopicJobs, "extra"); err != nil {
			t.Fatalf("EnsureTopics #%d: %v", i+1, err)
		}
	}
	conn, err := kafka.DialContext(ctx, "tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for topic, want := range map[string]int{TopicJobs: testPartitions, "extra": 2} {
		parts, err := conn.ReadPartitions(topic)
		if err != nil {
			t.Fatalf("ReadPartitions(%s): %v", topic, err)
		}
		if len(parts) != want {
			t.Errorf("%s has %d partitions, want %d", topic, len(parts), want)
		}
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer dcancel()
	if err := EnsureTopics(dctx, []string{freeAddr(t)}, 1, 1, "x"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("EnsureTopics on a dead broker: %v, want ErrUnavailable", err)
	}
}
