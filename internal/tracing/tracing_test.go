package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/stats"
)

// record installs an in-memory tracer provider for one test.
func record(t *testing.T, ratio float64) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	c := DefaultConfig("test")
	c.SampleRatio = ratio
	stop := Install(c, rec)
	t.Cleanup(func() { _ = stop(context.Background()) })
	return rec
}

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		ok   bool
	}{
		{"off", Config{Service: "s", SampleRatio: 1}, true},
		{"host and port", Config{Service: "s", SampleRatio: 0.01, Endpoint: "127.0.0.1:4317"}, true},
		{"url", Config{Service: "s", SampleRatio: 1, Endpoint: "https://collector.example:4317"}, true},
		{"no port", Config{Service: "s", SampleRatio: 1, Endpoint: "collector"}, false},
		{"other scheme", Config{Service: "s", SampleRatio: 1, Endpoint: "ftp://collector:21"}, false},
		{"ratio above 1", Config{Service: "s", SampleRatio: 1.5}, false},
		{"negative ratio", Config{Service: "s", SampleRatio: -0.1}, false},
		{"no service", Config{SampleRatio: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestConfig_Env(t *testing.T) {
	for _, tc := range []struct {
		sampler, arg string
		want         float64
	}{{"", "", 1}, {"always_off", "", 0}, {"parentbased_traceidratio", "0.25", 0.25}, {"traceidratio", "nonsense", 1}, {"always_on", "", 1}} {
		t.Setenv("OTEL_TRACES_SAMPLER", tc.sampler)
		t.Setenv("OTEL_TRACES_SAMPLER_ARG", tc.arg)
		if got := RatioFromEnv(); got != tc.want {
			t.Errorf("%s %s: ratio %v, want %v", tc.sampler, tc.arg, got, tc.want)
		}
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	c := DefaultConfig("s")
	if c.On() {
		t.Fatal("on without an endpoint")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
	if !c.On() {
		t.Fatal("the standard endpoint variable does not turn tracing on")
	}
	t.Setenv("OTEL_SDK_DISABLED", "true")
	if c.On() {
		t.Fatal("OTEL_SDK_DISABLED=true does not turn it off")
	}
}

func TestStart_OffInstallsNothing(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	stop, err := Start(context.Background(), DefaultConfig("s"))
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	if Enabled() || Inject(context.Background()) != nil || HTTPTransport(nil) != nil || GRPCClientOptions() != nil {
		t.Fatal("tracing off still does work")
	}
}

func TestSampler_OnlyEntryPointsStartTraces(t *testing.T) {
	rec := record(t, 1)
	tr := Tracer("test")
	ctx := context.Background()
	_, bg := tr.Start(ctx, "etcd call", trace.WithSpanKind(trace.SpanKindClient))
	bg.End()
	if bg.SpanContext().IsSampled() {
		t.Fatal("a client span without a parent started a trace")
	}
	sctx, req := tr.Start(ctx, "POST /v1/renders", trace.WithSpanKind(trace.SpanKindServer))
	_, call := tr.Start(sctx, "etcd call", trace.WithSpanKind(trace.SpanKindClient))
	call.End()
	req.End()
	if n := len(rec.Ended()); n != 2 {
		t.Fatalf("%d spans recorded, want the request and its call", n)
	}
	// Ratio 0 starts no trace, but a sampled parent's children are kept.
	rec0 := record(t, 0)
	_, s := Tracer("test").Start(ctx, "request", trace.WithSpanKind(trace.SpanKindServer))
	s.End()
	child := FromTraceParent(ctx, traceParentOf(req.SpanContext()))
	_, c := Tracer("test").Start(child, "assign")
	c.End()
	if got := rec0.Ended(); len(got) != 1 || got[0].Name() != "assign" || got[0].Parent().SpanID() != req.SpanContext().SpanID() {
		t.Fatalf("ratio 0: %d spans recorded, want only the child of a sampled remote parent", len(got))
	}
}

// traceParentOf is the traceparent of a span context, for the test.
func traceParentOf(sc trace.SpanContext) string {
	return TraceParent(trace.ContextWithSpanContext(context.Background(), sc))
}

func TestCarriers_RoundTrip(t *testing.T) {
	record(t, 1)
	ctx, span := Tracer("test").Start(context.Background(), "produce", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	h := Inject(ctx)
	if h["traceparent"] == "" {
		t.Fatalf("headers %v carry no traceparent", h)
	}
	got := trace.SpanContextFromContext(Extract(context.Background(), h))
	if !got.IsRemote() || got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("extracted %v, want the span %v", got, span.SpanContext())
	}
	tp := TraceParent(ctx)
	if sc := trace.SpanContextFromContext(FromTraceParent(context.Background(), tp)); sc.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("traceparent %q did not round-trip", tp)
	}
	if TraceID(ctx) != span.SpanContext().TraceID().String() || TraceID(context.Background()) != "" {
		t.Fatal("TraceID")
	}
	if sc := trace.SpanContextFromContext(FromTraceParent(context.Background(), "garbage")); sc.IsValid() {
		t.Fatal("a malformed traceparent gave a parent")
	}
}

func TestLogHandler_AddsIDs(t *testing.T) {
	record(t, 1)
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("service", "test")
	ctx, span := Tracer("test").Start(context.Background(), "op", trace.WithSpanKind(trace.SpanKindServer))
	log.InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	var in, out map[string]any
	if len(lines) != 2 || json.Unmarshal(lines[0], &in) != nil || json.Unmarshal(lines[1], &out) != nil {
		t.Fatalf("log: %s", buf.Bytes())
	}
	if in["trace_id"] != span.SpanContext().TraceID().String() || in["span_id"] != span.SpanContext().SpanID().String() || in["service"] != "test" {
		t.Fatalf("line in a span: %v", in)
	}
	if _, ok := out["trace_id"]; ok {
		t.Fatalf("line outside a span has a trace id: %v", out)
	}
}

var _ sdktrace.SpanProcessor = (*tracetest.SpanRecorder)(nil)

// TestTracer_FollowsTheInstalledProvider: a package's tracer, made once,
// reaches whichever provider is installed when a span starts, also after
// an earlier one was shut down.
func TestTracer_FollowsTheInstalledProvider(t *testing.T) {
	tr := Tracer("test")
	for i := range 2 {
		rec := tracetest.NewSpanRecorder()
		stop := Install(DefaultConfig("test"), rec)
		_, s := tr.Start(context.Background(), "op", trace.WithSpanKind(trace.SpanKindServer))
		s.End()
		stop(context.Background())
		if n := len(rec.Ended()); n != 1 {
			t.Fatalf("provider %d recorded %d spans, want 1", i, n)
		}
	}
}

func TestAdmit(t *testing.T) {
	if _, ok := Admit(context.Background(), true); ok {
		t.Fatal("admitted with tracing off")
	}
	for _, tc := range []struct {
		ratio             float64
		parent, want      bool
		wantSampledByRoot bool
	}{{1, false, true, true}, {0, false, false, false}, {0, true, true, false}} {
		rec := tracetest.NewSpanRecorder()
		c := DefaultConfig("test")
		c.SampleRatio = tc.ratio
		stop := Install(c, rec)
		ctx, ok := Admit(context.Background(), tc.parent)
		if ok != tc.want {
			t.Errorf("ratio %v parent %v: admitted %v", tc.ratio, tc.parent, ok)
		}
		_, s := Tracer("test").Start(ctx, "request", trace.WithSpanKind(trace.SpanKindServer))
		if s.SpanContext().IsSampled() != tc.wantSampledByRoot {
			t.Errorf("ratio %v parent %v: root span sampled %v", tc.ratio, tc.parent, s.SpanContext().IsSampled())
		}
		s.End()
		stop(context.Background())
	}
}

// countingHandler counts what a stats handler is handed.
type countingHandler struct{ tags, handles int }

func (h *countingHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	h.tags++
	return ctx
}
func (h *countingHandler) HandleRPC(context.Context, stats.RPCStats) { h.handles++ }
func (h *countingHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (h *countingHandler) HandleConn(context.Context, stats.ConnStats) {}

func TestSampledOnly_SkipsUntracedCalls(t *testing.T) {
	record(t, 1)
	h := &countingHandler{}
	s := sampledOnly{h}
	ctx := s.TagRPC(context.Background(), &stats.RPCTagInfo{FullMethodName: "/etcdserverpb.Watch/Watch"})
	s.HandleRPC(ctx, &stats.InPayload{})
	if h.tags != 0 || h.handles != 0 {
		t.Fatalf("an untraced call reached the handler: %+v", h)
	}
	tctx, span := Tracer("test").Start(context.Background(), "request", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	ctx = s.TagRPC(tctx, &stats.RPCTagInfo{FullMethodName: "/etcdserverpb.KV/Txn"})
	s.HandleRPC(ctx, &stats.End{})
	if h.tags != 1 || h.handles != 1 {
		t.Fatalf("a traced call did not reach the handler: %+v", h)
	}
}
