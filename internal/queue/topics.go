package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
)

// The topics of docs/api.md, "Kafka topics". Every message is keyed by job
// id (or session id), so one job's messages land on one partition in order.
const (
	TopicJobs   = "stickerd.render.jobs"   // render requests
	TopicEvents = "stickerd.render.events" // every job state change, JSON
	TopicErrors = "stickerd.errors"        // every typed error event
	TopicDLQ    = "stickerd.render.dlq"    // jobs that exhausted their attempts
)

// Topics lists every stickerd topic, for EnsureTopics and the embedded broker.
func Topics() []string {
	return []string{TopicJobs, TopicEvents, TopicErrors, TopicDLQ}
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
	if _, ok := ctx.Deadline(); !ok {
		// The controller calls below take deadlines, not contexts.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
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
