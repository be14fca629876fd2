package queue

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Handler processes one message. Returning nil lets the Consumer commit the
// message; returning an error makes it retry the same message.
type Handler func(ctx context.Context, m Message) error

// Consumer reads one topic as a member of a consumer group, at least once.
type Consumer struct {
	cfg    Config
	group  string
	topic  string
	r      *kafka.Reader
	closed atomic.Bool
	// life ends at Close; it wakes backoff sleeps and aborts a pending
	// commit.
	life context.Context
	kill context.CancelFunc
	// handling is 1 while a fetched message is not yet committed, for Lag.
	handling atomic.Int64
}

// NewConsumer returns a member of group reading topic. A group with no
// committed offset starts at the first offset. The member joins the group on
// the first Run; see Run for what that costs.
func NewConsumer(cfg Config, group, topic string) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if group == "" || topic == "" {
		return nil, errors.New("queue: consumer needs a group and a topic")
	}
	cfg = cfg.withDefaults()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           cfg.Brokers,
		GroupID:           group,
		Topic:             topic,
		Dialer:            cfg.dialer(),
		MinBytes:          1,
		MaxBytes:          10 << 20,
		MaxWait:           cfg.MaxWait,
		HeartbeatInterval: cfg.HeartbeatInterval,
		SessionTimeout:    cfg.SessionTimeout,
		RebalanceTimeout:  cfg.RebalanceTimeout,
		JoinGroupBackoff:  cfg.RetryBackoffMax,
		// 0 makes CommitMessages synchronous: it returns once the broker
		// has the offset.
		CommitInterval:        0,
		StartOffset:           kafka.FirstOffset,
		WatchPartitionChanges: true,
		ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
			cfg.Logger.Debug(fmt.Sprintf(format, args...), "group", group, "topic", topic)
		}),
	})
	life, kill := context.WithCancel(context.Background())
	return &Consumer{cfg: cfg, group: group, topic: topic, r: r, life: life, kill: kill}, nil
}

// Run fetches messages and calls h on each, one at a time, until ctx ends
// (it then returns nil), Close is called (ErrClosed; h's context ends too) or
// a fatal error.
//
// A message's offset is committed only after h returns nil. When h fails,
// Run calls it again with the same message after a capped exponential
// backoff, for as long as it takes: a message is never skipped, and while it
// fails the messages behind it wait. If the consumer stops before the commit
// (crash, Close, ctx end, rebalance), the group delivers the message again,
// possibly to another member: handlers must be idempotent.
//
// Broker outages are retried, not returned. The first fetch waits for the
// group to form: about one HeartbeatInterval when other members must rejoin.
// A topic that does not exist is not an error: the member idles until it is
// created (EnsureTopics first).
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	if h == nil {
		return errors.New("queue: Run: nil handler")
	}
	// Close ends the handler's context too, so it can abandon its work.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.life, cancel)()
	fetchFailures := 0
	// Offsets are committed by a committer goroutine, in batches of
	// whatever was handled while the previous commit was in flight: one
	// round trip for many messages under load, at once when idle, and a
	// long handler never holds back the commit of earlier messages. A
	// message reaches the committer only after its handler succeeded.
	handled := make(chan kafka.Message, maxCommitBatch)
	committerDone := make(chan struct{})
	go c.committer(ctx, handled, committerDone)
	defer func() {
		close(handled)
		<-committerDone
	}()
	for {
		km, err := c.r.FetchMessage(ctx)
		if err != nil {
			if stop, serr := c.stopped(ctx); stop {
				return serr
			}
			if !isUnavailable(err) {
				return fmt.Errorf("queue: consume %s (group %s): %w", c.topic, c.group, err)
			}
			fetchFailures++
			c.cfg.Logger.Warn("queue: fetch failed, retrying", "topic", c.topic, "group", c.group, "err", err)
			if !c.sleep(ctx, c.cfg.retry().Delay(fetchFailures)) {
				return c.stopErr()
			}
			continue
		}
		fetchFailures = 0
		c.handling.Store(1)
		ok := c.handle(ctx, km, h)
		c.handling.Store(0)
		if !ok {
			return c.stopErr()
		}
		handled <- km
	}
}

// handle calls h until it succeeds; false means ctx ended or c was closed
// first, and the message stays uncommitted.
func (c *Consumer) handle(ctx context.Context, km kafka.Message, h Handler) bool {
	m := Message{
		Topic: km.Topic, Partition: km.Partition, Offset: km.Offset,
		Key: km.Key, Value: km.Value, Time: km.Time,
	}
	ctx, end := c.traceConsume(ctx, km)
	for attempt := 1; ; attempt++ {
		err := h(ctx, m)
		if err == nil {
			end(true)
			return true
		}
		if stop, _ := c.stopped(ctx); stop {
			end(false)
			return false
		}
		delay := c.cfg.retry().Delay(attempt)
		c.cfg.Logger.Warn("queue: handler failed, retrying the same message",
			"topic", m.Topic, "partition", m.Partition, "offset", m.Offset,
			"attempt", attempt, "retry_in", delay, "err", err)
		if !c.sleep(ctx, delay) {
			end(false)
			return false
		}
	}
}

// maxCommitBatch bounds the messages committed in one round trip.
const maxCommitBatch = 256

// committer commits handled messages until handled is closed, batching
// those that queue up while a commit is in flight.
func (c *Consumer) committer(ctx context.Context, handled <-chan kafka.Message, done chan<- struct{}) {
	defer close(done)
	batch := make([]kafka.Message, 0, maxCommitBatch)
	for m := range handled {
		batch = append(batch[:0], m)
	more:
		for len(batch) < maxCommitBatch {
			select {
			case m, ok := <-handled:
				if !ok {
					break more
				}
				batch = append(batch, m)
			default:
				break more
			}
		}
		c.commit(ctx, batch...) // false: stopping; the rest is redelivered
	}
}

// commit commits the messages' offsets, retrying while the brokers are
// unavailable; false means ctx ended or c was closed before it succeeded.
func (c *Consumer) commit(ctx context.Context, kms ...kafka.Message) bool {
	km := kms[len(kms)-1]
	for attempt := 1; ; attempt++ {
		if c.closed.Load() {
			return false
		}
		err := c.commitOnce(ctx, kms...)
		if err == nil {
			return true
		}
		if stop, _ := c.stopped(ctx); stop {
			return false
		}
		c.cfg.Logger.Warn("queue: commit failed, retrying", "topic", km.Topic,
			"partition", km.Partition, "offset", km.Offset, "attempt", attempt, "err", err)
		if !c.sleep(ctx, c.cfg.retry().Delay(attempt)) {
			return false
		}
	}
}

// commitOnce makes one commit attempt. A handled message is worth committing
// even if ctx ended meanwhile (a graceful shutdown), so the attempt ignores
// ctx's cancellation; it is bounded by WriteTimeout and aborted by Close,
// without which kafka-go's CommitMessages can wait forever on a closed reader.
func (c *Consumer) commitOnce(ctx context.Context, kms ...kafka.Message) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.WriteTimeout)
	defer cancel()
	defer context.AfterFunc(c.life, cancel)()
	return c.r.CommitMessages(cctx, kms...)
}

// stopped reports whether Run must return, and with what.
func (c *Consumer) stopped(ctx context.Context) (bool, error) {
	if ctx.Err() != nil || c.closed.Load() {
		return true, c.stopErr()
	}
	return false, nil
}

func (c *Consumer) stopErr() error {
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Lag approximates how many messages of the topic this member has not yet
// committed, for a gauge: kafka-go's Stats().Lag (the high watermark minus
// the fetch position of the partition fetched last) plus the messages
// prefetched into kafka-go's queue plus the one being handled. With several
// busy partitions it undercounts, since kafka-go keeps one lag for all.
func (c *Consumer) Lag() int64 {
	s := c.r.Stats()
	return s.Lag + s.QueueLength + c.handling.Load()
}

// Close leaves the group, so its partitions move to the remaining members at
// once, and releases the connections. Uncommitted messages, including one a
// handler is still working on, will be delivered again.
func (c *Consumer) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.kill()
	return c.r.Close()
}

// sleep waits d; false means ctx ended or c was closed first.
func (c *Consumer) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-c.life.Done():
		return false
	case <-t.C:
		return true
	}
}
