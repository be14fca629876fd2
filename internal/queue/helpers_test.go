package queue

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/stickerd/stickerd/internal/kafkaembed"
)

const testPartitions = 4

// startBroker starts an embedded broker with every stickerd topic on a free
// loopback port (or on addr when given) and closes it when the test ends.
func startBroker(t *testing.T, addr string) *kafkaembed.Broker {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	b, err := kafkaembed.Start(kafkaembed.Config{Addr: addr, Topics: Topics(), Partitions: testPartitions})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func testConfig(brokers ...string) Config {
	cfg := DefaultConfig()
	cfg.Brokers = brokers
	cfg.WriteTimeout = 2 * time.Second
	cfg.RetryBackoffMin = 10 * time.Millisecond
	cfg.RetryBackoffMax = 100 * time.Millisecond
	return cfg
}

var groupSeq atomic.Int64

// uniqueGroup keeps the tests of one package run from sharing a group.
func uniqueGroup(t *testing.T) string {
	return fmt.Sprintf("%s-%d", t.Name(), groupSeq.Add(1))
}

func newProducer(t *testing.T, cfg Config) *Producer {
	t.Helper()
	p, err := NewProducer(cfg)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// running is a Consumer whose Run is going in the background.
type running struct {
	c    *Consumer
	stop context.CancelFunc
	errc chan error
}

func runConsumer(t *testing.T, cfg Config, group, topic string, h Handler) *running {
	t.Helper()
	c, err := NewConsumer(cfg, group, topic)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: c, stop: cancel, errc: make(chan error, 1)}
	go func() { r.errc <- c.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		c.Close()
	})
	return r
}

// wait returns Run's result, failing the test if Run does not return.
func (r *running) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-r.errc:
		return err
	case <-time.After(within):
		t.Fatalf("Run did not return within %v", within)
		return nil
	}
}

// recorder is a Handler that keeps what it saw and signals each delivery.
type recorder struct {
	mu   sync.Mutex
	msgs []Message
	ch   chan Message
}

func newRecorder() *recorder { return &recorder{ch: make(chan Message, 1024)} }

func (r *recorder) handle(_ context.Context, m Message) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	r.ch <- m
	return nil
}

// next returns the next delivered message or fails after within.
func next(t *testing.T, ch <-chan Message, within time.Duration) Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(within):
		t.Fatalf("no message within %v", within)
		return Message{}
	}
}

// committed reads the group's committed offset of one partition with a
// kafka-go client (-1 when none).
func committed(t *testing.T, broker, group, topic string, partition int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(broker)}
	resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{
		GroupID: group, Topics: map[string][]int{topic: {partition}},
	})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		t.Fatalf("OffsetFetch: %v", err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Partition == partition {
			if p.Error != nil {
				t.Fatalf("OffsetFetch partition %d: %v", partition, p.Error)
			}
			return p.CommittedOffset
		}
	}
	return -1
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
