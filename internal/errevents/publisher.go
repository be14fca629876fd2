package errevents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/queue"
)

// Sink publishes a batch of messages; *queue.Producer is the real one.
type Sink interface {
	PublishBatch(ctx context.Context, msgs []queue.Message) error
}

var _ Sink = (*queue.Producer)(nil)

// Config tunes a Publisher. Start from DefaultConfig.
type Config struct {
	// Service fills Event.Service when a reported event has none; one of
	// Services().
	Service string
	// Buffer is how many events may wait for Kafka; beyond it Report drops.
	Buffer int
	// MaxBatch bounds the events sent in one PublishBatch.
	MaxBatch int
	// PublishTimeout bounds one PublishBatch; a batch that fails or times
	// out is dropped, not retried (the Producer already retries inside it).
	PublishTimeout time.Duration
	// Logger receives drops and publish failures; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults for service.
func DefaultConfig(service string) Config {
	return Config{Service: service, Buffer: 1024, MaxBatch: 256, PublishTimeout: 5 * time.Second}
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case !KnownService(c.Service):
		return fmt.Errorf("errevents: service %q is not one of %v", c.Service, Services())
	case c.Buffer < 1:
		return fmt.Errorf("errevents: Buffer must be >= 1, got %d", c.Buffer)
	case c.MaxBatch < 1:
		return fmt.Errorf("errevents: MaxBatch must be >= 1, got %d", c.MaxBatch)
	case c.PublishTimeout <= 0:
		return fmt.Errorf("errevents: PublishTimeout must be positive, got %v", c.PublishTimeout)
	}
	return nil
}

// Publisher counts and ships error events. It is safe for concurrent use;
// one per process is enough.
type Publisher struct {
	cfg  Config
	sink Sink

	// mu orders Report's send against Close's close of events.
	mu     sync.RWMutex
	closed bool
	events chan Event
	done   chan struct{}

	// life ends when Close gives up waiting; it aborts the publish in flight.
	life context.Context
	stop context.CancelFunc

	// lastDropLog rate-limits the drop warning (unix nanoseconds).
	lastDropLog atomic.Int64
}

// NewPublisher starts a Publisher that ships events through sink. A nil
// sink makes a local-only Publisher: events are counted, never shipped (a
// process without Kafka, such as `stickerctl render --local`).
func NewPublisher(sink Sink, cfg Config) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	life, stop := context.WithCancel(context.Background())
	p := &Publisher{cfg: cfg, sink: sink, done: make(chan struct{}), life: life, stop: stop}
	if sink == nil {
		close(p.done)
		return p, nil
	}
	p.events = make(chan Event, cfg.Buffer)
	go p.run()
	return p, nil
}

// Report counts e in stickerd_local_errors_total and queues it for
// stickerd.errors. It never blocks and never fails: when the buffer is full,
// or after Close, the event is dropped and counted in
// stickerd_error_events_dropped_total. An event without a Code (FromError of
// a nil error) is ignored. ctx is not used to publish: the event outlives the
// request that saw the error.
func (p *Publisher) Report(_ context.Context, e Event) {
	if e.Code == "" {
		return
	}
	if e.Service == "" {
		e.Service = p.cfg.Service
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	metrics.LocalErrors.WithLabelValues(BoundedService(e.Service), string(BoundedCode(e.Code))).Inc()
	if p.sink == nil {
		return
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		p.drop(1, errors.New("publisher closed"))
		return
	}
	select {
	case p.events <- e:
	default:
		p.drop(1, errors.New("buffer full"))
	}
}

// Close stops accepting events and publishes those still buffered. If ctx
// ends first, the rest are dropped (and counted) and Close returns ctx's
// error. Close does not close the Sink, which belongs to the caller.
func (p *Publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		if p.events != nil {
			close(p.events)
		}
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		p.stop()
		return nil
	case <-ctx.Done():
		p.stop()
		<-p.done
		return ctx.Err()
	}
}

// run drains events until Close, publishing whatever queued up while the
// previous batch was in flight: one round trip per batch under a burst, at
// once when idle.
func (p *Publisher) run() {
	defer close(p.done)
	batch := make([]queue.Message, 0, p.cfg.MaxBatch)
	for e := range p.events {
		batch = p.appendMessage(batch[:0], e)
	more:
		for len(batch) < p.cfg.MaxBatch {
			select {
			case e, ok := <-p.events:
				if !ok {
					break more
				}
				batch = p.appendMessage(batch, e)
			default:
				break more
			}
		}
		p.publish(batch)
	}
}

func (p *Publisher) appendMessage(batch []queue.Message, e Event) []queue.Message {
	value, err := e.Marshal()
	if err != nil {
		p.drop(1, err)
		return batch
	}
	return append(batch, queue.Message{Topic: queue.TopicErrors, Key: []byte(e.Key()), Value: value})
}

func (p *Publisher) publish(batch []queue.Message) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(p.life, p.cfg.PublishTimeout)
	defer cancel()
	if err := p.sink.PublishBatch(ctx, batch); err != nil {
		p.drop(len(batch), err)
	}
}

// dropLogEvery bounds the drop warnings: a full buffer means a storm, and a
// log line per dropped event would feed it.
const dropLogEvery = 10 * time.Second

func (p *Publisher) drop(n int, why error) {
	metrics.ErrorEventsDropped.Add(float64(n))
	now := time.Now().UnixNano()
	last := p.lastDropLog.Load()
	if now-last >= int64(dropLogEvery) && p.lastDropLog.CompareAndSwap(last, now) {
		p.cfg.Logger.Warn("errevents: error events dropped", "count", n, "reason", why.Error(),
			"events_of", p.cfg.Service)
	}
}
