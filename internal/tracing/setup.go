package tracing

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// enabled is set while a tracer provider that exports is installed, and
// ratio holds its sample ratio (math.Float64bits) for Admit.
var (
	enabled atomic.Bool
	ratio   atomic.Uint64
)

// Enabled reports whether this process exports spans. Callers skip the
// work of carrying trace contexts when it is false.
func Enabled() bool { return enabled.Load() }

// Tracer is the tracer of one of stickerd's packages ("scheduler",
// "worker", ...): the instrumentation scope its spans carry. Packages keep
// it in a variable from their start, so it looks the provider up at each
// span: OpenTelemetry's global tracers follow only the first provider ever
// installed, and a process (a test binary, tracebench) may install one,
// shut it down and install another.
func Tracer(pkg string) trace.Tracer {
	return lazyTracer{scope: "github.com/stickerd/stickerd/" + pkg}
}

type lazyTracer struct {
	embedded.Tracer
	scope string
}

func (t lazyTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return otel.GetTracerProvider().Tracer(t.scope).Start(ctx, name, opts...)
}

// Start installs the process's tracer provider and returns the function
// that flushes and removes it (bounded by its context; call it on exit).
// With tracing off (see Config.On) it installs nothing.
func Start(ctx context.Context, c Config) (shutdown func(context.Context) error, err error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.On() {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := newExporter(ctx, c)
	if err != nil {
		return nil, err
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		// A collector that is down costs spans, never a request.
		slog.Default().Warn("tracing: spans not exported", "err", err)
	}))
	return Install(c, sdktrace.NewBatchSpanProcessor(exp)), nil
}

// Install makes p receive the spans of this process, sampled as c says,
// and returns the function that removes it again: Start's second half,
// and how tests collect spans in memory.
func Install(c Config, p sdktrace.SpanProcessor) (shutdown func(context.Context) error) {
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(newResource(c)),
		sdktrace.WithSampler(sdktrace.ParentBased(entrySampler{sdktrace.TraceIDRatioBased(c.SampleRatio)})),
		sdktrace.WithSpanProcessor(p),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	ratio.Store(math.Float64bits(c.SampleRatio))
	enabled.Store(true)
	return func(ctx context.Context) error {
		enabled.Store(false)
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
		return tp.Shutdown(ctx)
	}
}

// newResource names the process: service.name (OTEL_SERVICE_NAME wins),
// service.instance.id, and OTEL_RESOURCE_ATTRIBUTES. The attributes carry
// no schema URL, so they merge with any detector's.
func newResource(c Config) *resource.Resource {
	attrs := []attribute.KeyValue{attribute.String("service.name", c.Service), attribute.String("service.namespace", "stickerd")}
	if c.Instance != "" {
		attrs = append(attrs, attribute.String("service.instance.id", c.Instance))
	}
	r, err := resource.New(context.Background(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil {
		// A malformed OTEL_RESOURCE_ATTRIBUTES: keep what parsed.
		slog.Default().Warn("tracing: resource attributes", "err", err)
	}
	if r == nil {
		r = resource.NewSchemaless(attrs...)
	}
	return r
}

// newExporter is an OTLP exporter over gRPC, or over HTTP when
// OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL says http/protobuf. Without an
// Endpoint it reads the OTEL_EXPORTER_OTLP_* variables itself, as it
// does for headers, certificates, compression and timeouts.
func newExporter(ctx context.Context, c Config) (sdktrace.SpanExporter, error) {
	hostPort, rawURL, _ := parseEndpoint(c.Endpoint) // validated
	if httpProtocol() {
		var opts []otlptracehttp.Option
		switch {
		case rawURL != "":
			if u := strings.TrimRight(rawURL, "/"); !strings.HasSuffix(u, "/v1/traces") && strings.Count(u, "/") == 2 {
				rawURL = u + "/v1/traces" // a bare collector URL: the standard path
			}
			opts = append(opts, otlptracehttp.WithEndpointURL(rawURL))
		case hostPort != "":
			opts = append(opts, otlptracehttp.WithEndpoint(hostPort), otlptracehttp.WithInsecure())
		}
		return otlptracehttp.New(ctx, opts...)
	}
	var opts []otlptracegrpc.Option
	switch {
	case rawURL != "":
		opts = append(opts, otlptracegrpc.WithEndpointURL(rawURL))
	case hostPort != "":
		opts = append(opts, otlptracegrpc.WithEndpoint(hostPort), otlptracegrpc.WithInsecure())
	}
	// The connection is made in the background: a collector that is not up
	// yet delays nothing.
	return otlptracegrpc.New(ctx, append(opts, otlptracegrpc.WithTimeout(10*time.Second))...)
}

func httpProtocol() bool {
	p := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if p == "" {
		p = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	return strings.HasPrefix(p, "http/")
}

// entrySampler decides for spans without a parent. Only the entry points
// of work (a server span: a request; a consumer span: a message) start a
// trace, at the configured ratio; a client or producer span without a
// parent is background work (the etcd client's lease keep-alives and
// watches, an error event) that would bury the traces worth reading.
type entrySampler struct{ ratio sdktrace.Sampler }

func (s entrySampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if admitted(p.ParentContext) {
		// Admit decided already, before the instrumentation ran.
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample,
			Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
	}
	if p.Kind == trace.SpanKindClient || p.Kind == trace.SpanKindProducer {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop,
			Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
	}
	return s.ratio.ShouldSample(p)
}

func (s entrySampler) Description() string {
	return "EntryPoints{" + s.ratio.Description() + "}"
}

type admittedKey struct{}

// Admit decides whether a request that enters this process (an API
// request, a realtime offer) is traced, before any instrumentation runs
// for it, so that an untraced request pays for none: at ratio 0.01, 99 of
// 100 requests skip the server instrumentation and everything below it
// sees no span. A request that carries a trace context (hasParent) goes
// on to the instrumentation, which keeps its caller's decision. false with
// tracing off.
func Admit(ctx context.Context, hasParent bool) (context.Context, bool) {
	if !Enabled() {
		return ctx, false
	}
	if hasParent {
		return ctx, true
	}
	if r := math.Float64frombits(ratio.Load()); r >= 1 || (r > 0 && rand.Float64() < r) {
		return context.WithValue(ctx, admittedKey{}, true), true
	}
	return ctx, false
}

// admitted reports whether Admit chose ctx's request for a new trace.
func admitted(ctx context.Context) bool {
	if ctx == nil || trace.SpanContextFromContext(ctx).IsValid() {
		return false
	}
	ok, _ := ctx.Value(admittedKey{}).(bool)
	return ok
}
