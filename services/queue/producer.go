package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Message is one record read from a topic.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Time      time.Time
}

// Producer publishes keyed messages synchronously. One Producer per process
// is enough: it is safe for concurrent use, and concurrent Publish calls to
// the same partition share a batch.
type Producer struct {
	cfg    Config
	w      *kafka.Writer
	closed atomic.Bool
}

// NewProducer returns a Producer for cfg.Brokers. It does not contact the
// brokers; the first Publish does.
func NewProducer(cfg Config) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w := &kafka.Writer{
		Addr: kafka.TCP(cfg.Brokers...),
		// Hash on the key keeps every message of one job on one
		// partition, hence in order. kafka.Hash matches the Java client's
		// murmur2 partitioner only for non-negative hashes, which is fine
		// as long as kafka-go is the only producer of these topics.
		Balancer:     &kafka.Hash{},
		BatchTimeout: cfg.BatchTimeout,
		// A batch keeps retrying in the background after Publish gave up,
		// and Close waits for it: keep its retries (backoffs 50, 200, 450,
		// 500 ms) within the default WriteTimeout so a broker outage
		// neither delays Close for long nor writes a message long after
		// its Publish failed. Each attempt is bounded by WriteTimeout.
		MaxAttempts:     5,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: 500 * time.Millisecond,
		WriteTimeout:    cfg.WriteTimeout,
		ReadTimeout:     cfg.WriteTimeout,
		RequiredAcks:    kafka.RequireAll,
		// Topics are created explicitly (EnsureTopics); a typo must fail
		// rather than create a stray topic.
		AllowAutoTopicCreation: false,
		Transport: &kafka.Transport{
			ClientID:    cfg.ClientID,
			DialTimeout: cfg.WriteTimeout,
			// Refresh metadata often enough to follow topic creation
			// and leader moves without waiting kafka-go's default 6s.
			MetadataTTL: time.Second,
		},
	}
	return &Producer{cfg: cfg, w: w}, nil
}

// Publish writes one message and returns once every in-sync replica has it.
// It gives up after cfg.WriteTimeout; an error caused by the brokers (down,
// no leader, timed out) matches errors.Is(err, ErrUnavailable). On error the
// message may or may not have been written, so retrying can duplicate it.
func (p *Producer) Publish(ctx context.Context, topic string, key, value []byte) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if topic == "" {
		return errors.New("queue: publish: empty topic")
	}
	wctx, cancel := context.WithTimeout(ctx, p.cfg.WriteTimeout)
	defer cancel()
	err := p.w.WriteMessages(wctx, kafka.Message{Topic: topic, Key: key, Value: value})
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("publish to %s", topic)
	switch {
	case ctx.Err() != nil:
		// The caller gave up; that says nothing about the brokers.
		return fmt.Errorf("queue: %s: %w", what, ctx.Err())
	case errors.Is(err, io.ErrClosedPipe) && p.closed.Load():
		return ErrClosed
	case wctx.Err() != nil || isUnavailable(err):
		return unavailable(err, what)
	}
	return fmt.Errorf("queue: %s: %w", what, err)
}

// PublishJSON marshals v and publishes it under key.
func (p *Producer) PublishJSON(ctx context.Context, topic, key string, v any) error {
	value, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("queue: publish to %s: marshal: %w", topic, err)
	}
	return p.Publish(ctx, topic, []byte(key), value)
}

// Close flushes pending writes and releases the connections. Publish after
// Close returns ErrClosed.
func (p *Producer) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	err := p.w.Close()
	if t, ok := p.w.Transport.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
	return err
}

// EnsureTopics creates each topic with the given partitions and replication
// factor (1 when below 1) unless it exists, through the cluster controller.
// It is idempotent; it does not change existing topics.
func EnsureTopics(ctx context.Context, brokers []string, partitions, replication int, topics ...string) error {
	if len(brokers) == 0 {
		return errors.New("queue: ensure topics: no brokers")
	}
	if partitions < 1 {
		return fmt.Errorf("queue: ensure topics: partitions must be >= 1, got %d", partitions)
	}
	replication = max(replication, 1)
	var dialer kafka.Dialer
	var lastErr error
	for _, b := range brokers {
		err := ensureTopicsVia(ctx, &dialer, b, partitions, replication, topics)
		if err == nil {
			return nil
		}
		lastErr = err
		if ctx.Err() != nil || !isUnavailable(err) {
			break
		}
	}
	if isUnavailable(lastErr) {
		return unavailable(lastErr, "ensure topics")
	}
	return fmt.Errorf("queue: ensure topics: %w", lastErr)
}

func ensureTopicsVia(ctx context.Context, d *kafka.Dialer, broker string, partitions, replication int, topics []string) error {
	conn, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	controller, err := conn.Controller()
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(controller.Host, fmt.Sprint(controller.Port))
	cconn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer cconn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = cconn.SetDeadline(deadline)
	}
	configs := make([]kafka.TopicConfig, 0, len(topics))
	for _, t := range topics {
		configs = append(configs, kafka.TopicConfig{
			Topic: t, NumPartitions: partitions, ReplicationFactor: replication,
		})
	}
	// kafka-go ignores TOPIC_ALREADY_EXISTS, which makes this idempotent.
	return cconn.CreateTopics(configs...)
}
