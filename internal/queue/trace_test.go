package queue

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stickerd/stickerd/internal/tracing"
)

// TestTrace_HeadersCarryTheTrace publishes inside a span and sees the
// consumer's handler run below the producer span of the same trace; a
// message published outside any trace gets no headers and no span.
func TestTrace_HeadersCarryTheTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	stop := tracing.Install(tracing.DefaultConfig("test"), rec)
	defer stop(context.Background())
	b := startBroker(t, "")
	cfg := testConfig(b.Addr())
	p := newProducer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	rctx, req := tracing.Tracer("test").Start(ctx, "request", trace.WithSpanKind(trace.SpanKindServer))
	if err := p.Publish(rctx, TopicEvents, []byte("job-1"), []byte("traced")); err != nil {
		t.Fatal(err)
	}
	req.End()
	if err := p.Publish(ctx, TopicEvents, []byte("job-2"), []byte("untraced")); err != nil {
		t.Fatal(err)
	}
	got := make(chan trace.SpanContext, 2)
	runConsumer(t, cfg, uniqueGroup(t), TopicEvents, func(ctx context.Context, m Message) error {
		got <- trace.SpanContextFromContext(ctx)
		return nil
	})
	var traced, untraced trace.SpanContext
	for range 2 {
		select {
		case sc := <-got:
			if sc.IsValid() {
				traced = sc
			} else {
				untraced = sc
			}
		case <-ctx.Done():
			t.Fatal("messages not delivered")
		}
	}
	if traced.TraceID() != req.SpanContext().TraceID() || untraced.IsValid() {
		t.Fatalf("handler contexts: traced %v (want trace %v), untraced %v", traced, req.SpanContext().TraceID(), untraced)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && len(rec.Ended()) < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	spans := map[string]trace.SpanKind{}
	parents := map[string]trace.SpanID{}
	ids := map[string]trace.SpanID{}
	for _, s := range rec.Ended() {
		spans[s.Name()], parents[s.Name()], ids[s.Name()] = s.SpanKind(), s.Parent().SpanID(), s.SpanContext().SpanID()
	}
	if len(spans) != 3 || spans["send "+TopicEvents] != trace.SpanKindProducer || spans["process "+TopicEvents] != trace.SpanKindConsumer {
		t.Fatalf("spans %v, want the request, one send and one process", spans)
	}
	if parents["send "+TopicEvents] != ids["request"] || parents["process "+TopicEvents] != ids["send "+TopicEvents] {
		t.Fatalf("parents %v of spans %v: want request → send → process", parents, ids)
	}
}
