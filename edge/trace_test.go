package edge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/tracing"
	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

// TestTrace_SessionSpans: a traced offer gives the session one span for
// its life, ended with its stats, and one for the negotiation below it;
// frames give none.
func TestTrace_SessionSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	stop := tracing.Install(tracing.DefaultConfig("test"), rec)
	defer stop(context.Background())
	e, err := edge.New(rtctest.LoopbackConfig(), edge.Deps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.Routes(mux)
	srv := httptest.NewServer(tracing.HTTPHandler(mux, "edge"))
	defer func() { srv.Close(); _ = e.Close() }()

	c := connect(t, srv.URL, 160, 120, func(f *rtc.Frame, n int) { rtctest.Solid(f, 100, 128, 128) })
	c.next(5 * time.Second)
	c.close()
	byName := map[string]sdktrace.ReadOnlySpan{}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && byName["rtc session"] == nil {
		time.Sleep(20 * time.Millisecond)
		for _, s := range rec.Ended() {
			byName[s.Name()] = s
		}
	}
	life, neg := byName["rtc session"], byName["rtc negotiate"]
	if life == nil || neg == nil {
		t.Fatalf("spans %v: want rtc session and rtc negotiate", byName)
	}
	if neg.Parent().SpanID() != life.SpanContext().SpanID() || life.Parent().SpanID() != byName["POST /v1/rtc/sessions"].SpanContext().SpanID() {
		t.Fatalf("parents: negotiate %v, session %v; want request → session → negotiate", neg.Parent(), life.Parent())
	}
	attrs := map[string]any{}
	for _, a := range life.Attributes() {
		attrs[string(a.Key)] = a.Value.AsInterface()
	}
	if f, _ := attrs["stickerd.session.frames"].(int64); f < 1 || attrs["stickerd.session.latency_p95_ms"] == nil {
		t.Fatalf("session span attributes %v: want its frames and latency", attrs)
	}
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindInternal && s.Name() != "rtc session" && s.Name() != "rtc negotiate" {
			t.Fatalf("unexpected span %s", s.Name())
		}
	}
}
