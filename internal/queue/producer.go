package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	mech, _ := cfg.mechanism() // validated
	w := &kafka.Writer{
		Addr: kafka.TCP(cfg.Brokers...),
		// Hashing the key keeps every message of one job on one
		// partition, hence in order. kafka.Hash is FNV-1a (Sarama's
		// choice), not the Java client's murmur2: a producer in another
		// language must not share these topics' keys. A nil key is spread
		// round-robin.
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
			TLS:         cfg.TLS,
			SASL:        mech,
		},
	}
	return &Producer{cfg: cfg, w: w}, nil
}

// Publish writes one message and returns once every in-sync replica has it.
// It gives up after cfg.WriteTimeout; an error caused by the brokers (down,
// no leader, timed out) matches errors.Is(err, ErrUnavailable). On error the
// message may or may not have been written, so retrying can duplicate it.
func (p *Producer) Publish(ctx context.Context, topic string, key, value []byte) error {
	return p.PublishBatch(ctx, []Message{{Topic: topic, Key: key, Value: value}})
}

// PublishBatch sends several messages (each to its own topic and key) in
// one call: one round trip per partition instead of one per message.
// Like Publish it returns when the brokers acknowledged them all.
// Within a trace, the messages carry its context in their headers
// (trace.go), so the consumer's spans join it.
func (p *Producer) PublishBatch(ctx context.Context, msgs []Message) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	for _, m := range msgs {
		if m.Topic == "" {
			return errors.New("queue: publish: empty topic")
		}
	}
	headers, end := tracePublish(ctx, msgs)
	err := p.publishBatch(ctx, msgs, headers)
	end(err)
	return err
}

func (p *Producer) publishBatch(ctx context.Context, msgs []Message, headers []kafka.Header) error {
	kms := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		kms[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: headers}
	}
	topic := msgs[0].Topic
	wctx, cancel := context.WithTimeout(ctx, p.cfg.WriteTimeout)
	defer cancel()
	err := p.w.WriteMessages(wctx, kms...)
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
