package errevents

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/queue"
)

// fakeSink records batches. When gate is set, each call signals entered and
// waits for gate to close (or its context to end).
type fakeSink struct {
	mu      sync.Mutex
	batches [][]queue.Message
	err     error
	gate    chan struct{}
	entered chan struct{}
}

func (s *fakeSink) PublishBatch(ctx context.Context, msgs []queue.Message) error {
	if s.gate != nil {
		s.entered <- struct{}{}
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.batches = append(s.batches, append([]queue.Message(nil), msgs...))
	return nil
}

func (s *fakeSink) messages() []queue.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []queue.Message
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func newPublisher(t *testing.T, sink Sink, buffer int) *Publisher {
	t.Helper()
	cfg := DefaultConfig("worker")
	cfg.Buffer = buffer
	p, err := NewPublisher(sink, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func dropped() float64 { return testutil.ToFloat64(metrics.ErrorEventsDropped) }

func local(service string, code errcode.Code) float64 {
	return testutil.ToFloat64(metrics.LocalErrors.WithLabelValues(service, string(code)))
}

func TestPublisher_CountsAndPublishes(t *testing.T) {
	sink := &fakeSink{}
	p := newPublisher(t, sink, 64)
	before := local("worker", errcode.FFmpegFailed)
	beforeUnknown := local(Unknown, errcode.Internal)
	for i := 0; i < 10; i++ {
		p.Report(context.Background(), FromError("", errcode.New(errcode.FFmpegFailed, "x"), "job_1", "", "t"))
	}
	p.Report(context.Background(), Event{Service: "bogus", Code: "NOPE", Message: "m"})
	p.Report(context.Background(), FromError("worker", nil, "job_2", "", "t")) // ignored
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := local("worker", errcode.FFmpegFailed) - before; got != 10 {
		t.Fatalf("local FFMPEG_FAILED += %v, want 10", got)
	}
	if got := local(Unknown, errcode.Internal) - beforeUnknown; got != 1 {
		t.Fatalf("unbounded labels not mapped: += %v", got)
	}
	msgs := sink.messages()
	if len(msgs) != 11 {
		t.Fatalf("published %d messages, want 11", len(msgs))
	}
	for _, m := range msgs[:10] {
		e, err := Parse(m.Value)
		if err != nil || m.Topic != queue.TopicErrors || string(m.Key) != "job_1" ||
			e.Service != "worker" || e.Code != errcode.FFmpegFailed || e.Time.IsZero() {
			t.Fatalf("bad message %s %s %s (%v)", m.Topic, m.Key, m.Value, err)
		}
	}
}

func TestPublisher_ReportNeverBlocks(t *testing.T) {
	sink := &fakeSink{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	const buffer = 4
	p := newPublisher(t, sink, buffer)
	ev := Event{Code: errcode.StorageFailed, JobID: "job_1"}
	p.Report(context.Background(), ev)
	<-sink.entered // the drainer holds the first event in a stuck publish
	before := dropped()
	start := time.Now()
	for i := 0; i < buffer+3; i++ {
		p.Report(context.Background(), ev)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Report blocked for %v", d)
	}
	if got := dropped() - before; got != 3 {
		t.Fatalf("dropped %v, want 3", got)
	}
	close(sink.gate)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(sink.messages()); got != 1+buffer {
		t.Fatalf("published %d, want %d", got, 1+buffer)
	}
}

func TestPublisher_DropsWhatFails(t *testing.T) {
	tests := []struct {
		name   string
		sink   *fakeSink
		closer func() (context.Context, context.CancelFunc)
		want   error
	}{
		{"sink error", &fakeSink{err: errors.New("kafka down")},
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, nil},
		{"close deadline", &fakeSink{gate: make(chan struct{}), entered: make(chan struct{}, 16)},
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPublisher(t, tt.sink, 16)
			before := dropped()
			for i := 0; i < 5; i++ {
				p.Report(context.Background(), Event{Code: errcode.Internal})
			}
			ctx, cancel := tt.closer()
			defer cancel()
			if err := p.Close(ctx); !errors.Is(err, tt.want) {
				t.Fatalf("Close = %v, want %v", err, tt.want)
			}
			if got := dropped() - before; got != 5 {
				t.Fatalf("dropped %v, want 5", got)
			}
			p.Report(context.Background(), Event{Code: errcode.Internal})
			if got := dropped() - before; got != 6 {
				t.Fatalf("report after close: dropped %v, want 6", got)
			}
		})
	}
}

func TestPublisher_LocalOnly(t *testing.T) {
	p := newPublisher(t, nil, 1)
	before, beforeDropped := local("worker", errcode.Canceled), dropped()
	p.Report(context.Background(), Event{Code: errcode.Canceled})
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if local("worker", errcode.Canceled)-before != 1 || dropped() != beforeDropped {
		t.Fatal("a local-only publisher counts and drops nothing")
	}
}

func TestPublisher_ConcurrentReportAndClose(t *testing.T) {
	sink := &fakeSink{}
	p := newPublisher(t, sink, 8)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				p.Report(context.Background(), Event{Code: errcode.RateLimited})
			}
		}()
	}
	time.Sleep(time.Millisecond)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"unknown service", func(c *Config) { c.Service = "nope" }, false},
		{"no buffer", func(c *Config) { c.Buffer = 0 }, false},
		{"no batch", func(c *Config) { c.MaxBatch = 0 }, false},
		{"no timeout", func(c *Config) { c.PublishTimeout = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig("gateway")
			tt.mutate(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
