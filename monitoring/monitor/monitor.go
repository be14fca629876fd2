package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/queue"
)

// DefaultGroup is the consumer group of every monitor replica: replicas
// share the partitions, so each event is counted once (at least once: a
// redelivery after a crash counts again, which a rate barely notices).
const DefaultGroup = "stickerd-monitor"

// Config says where the brokers are. Only Brokers is required.
type Config struct {
	// Brokers are bootstrap "host:port" addresses.
	Brokers []string
	// Group is the consumer group; DefaultGroup when empty.
	Group string
	// LagInterval is how often stickerd_kafka_consumer_lag is refreshed;
	// default 5s.
	LagInterval time.Duration
	// Logger receives unknown codes, dead letters and consumer retries;
	// nil discards them.
	Logger *slog.Logger
	// Queue carries the brokers' TLS and SASL settings (queue.Config's
	// TLS and SASL fields; the rest is set here).
	Queue queue.Config
}

// DefaultConfig returns the defaults; set Brokers.
func DefaultConfig() Config {
	return Config{Group: DefaultGroup, LagInterval: 5 * time.Second}
}

func (c Config) withDefaults() Config {
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.LagInterval == 0 {
		c.LagInterval = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("monitor: no brokers configured")
	}
	if c.LagInterval < 0 {
		return fmt.Errorf("monitor: LagInterval must not be negative, got %v", c.LagInterval)
	}
	return nil
}

// Run consumes stickerd.errors and stickerd.render.dlq until ctx ends (it
// then returns nil) or a consumer fails for good. Broker outages are
// retried by the consumers, not returned. The topics are not created here:
// a missing topic is waited for (queue.EnsureTopics is the deployer's job).
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	qcfg := queue.DefaultConfig()
	qcfg.Brokers = cfg.Brokers
	qcfg.ClientID = "stickerd-monitor"
	qcfg.Logger = cfg.Logger
	qcfg.TLS, qcfg.SASLMechanism, qcfg.SASLUser, qcfg.SASLPassword = cfg.Queue.TLS, cfg.Queue.SASLMechanism, cfg.Queue.SASLUser, cfg.Queue.SASLPassword

	h := handler{log: cfg.Logger}
	subs := []struct {
		topic  string
		handle queue.Handler
	}{
		{queue.TopicErrors, h.handleError},
		{queue.TopicDLQ, h.handleDeadLetter},
	}
	consumers := make([]*queue.Consumer, len(subs))
	for i, s := range subs {
		c, err := queue.NewConsumer(qcfg, cfg.Group, s.topic)
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
		defer c.Close()
		consumers[i] = c
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, s := range subs {
		c := consumers[i]
		g.Go(func() error {
			if err := c.Run(gctx, s.handle); err != nil {
				return fmt.Errorf("monitor: %s: %w", s.topic, err)
			}
			return nil
		})
		g.Go(func() error {
			reportLag(gctx, c, cfg.Group, s.topic, cfg.LagInterval)
			return nil
		})
	}
	cfg.Logger.Info("monitor: consuming", "group", cfg.Group, "topics", []string{queue.TopicErrors, queue.TopicDLQ})
	return g.Wait()
}

// reportLag refreshes the consumer's lag gauge until ctx ends.
func reportLag(ctx context.Context, c *queue.Consumer, group, topic string, every time.Duration) {
	gauge := metrics.KafkaConsumerLag.WithLabelValues(group, topic)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		gauge.Set(float64(c.Lag()))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// handler turns messages into counters. Its methods never fail: a message
// that cannot be read is counted and logged, never retried, since retrying
// a malformed message would stall its partition forever.
type handler struct {
	log *slog.Logger
}

// handleError counts one stickerd.errors event in stickerd_errors_total.
func (h handler) handleError(_ context.Context, m queue.Message) error {
	e, err := errevents.Parse(m.Value)
	if err != nil {
		// Still an error somewhere: keep the signal, under labels that
		// say we could not tell whose.
		h.log.Warn("monitor: unreadable error event, counted as unknown/INTERNAL",
			"partition", m.Partition, "offset", m.Offset, "err", err)
		metrics.Errors.WithLabelValues(errevents.Unknown, string(errcode.Internal)).Inc()
		return nil
	}
	service, code := errevents.BoundedService(e.Service), errevents.BoundedCode(e.Code)
	if code != e.Code {
		h.log.Warn("monitor: error code not in the taxonomy, counted as INTERNAL",
			"code", e.Code, "service", e.Service, "job_id", e.JobID, "session_id", e.SessionID)
	}
	if service != e.Service {
		h.log.Warn("monitor: unknown service in error event, counted as "+errevents.Unknown,
			"service", e.Service, "code", e.Code)
	}
	metrics.Errors.WithLabelValues(service, string(code)).Inc()
	h.log.Debug("monitor: error event", "service", e.Service, "code", e.Code, "job_id", e.JobID,
		"session_id", e.SessionID, "tenant", e.Tenant, "message", e.Message, "time", e.Time)
	return nil
}

// handleDeadLetter counts one stickerd.render.dlq message. Its key is the
// job id; the job itself is in the state store.
func (h handler) handleDeadLetter(_ context.Context, m queue.Message) error {
	metrics.DLQMessages.Inc()
	h.log.Warn("monitor: job dead-lettered", "job_id", string(m.Key),
		"partition", m.Partition, "offset", m.Offset)
	return nil
}
