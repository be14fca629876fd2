package tracing

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Inject returns ctx's trace context as W3C headers (traceparent, and
// tracestate and baggage when there are any): what a Kafka message or an
// assignment carries to the next process. nil when tracing is off or ctx
// holds no span.
func Inject(ctx context.Context) map[string]string {
	if !Enabled() || !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	m := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, m)
	return m
}

// Extract returns ctx carrying the remote span context of headers, the
// parent of the spans started from it; ctx itself when there is none.
func Extract(ctx context.Context, headers map[string]string) context.Context {
	if !Enabled() || len(headers) == 0 {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(headers))
}

// TraceParent is ctx's span as a W3C traceparent, the form a job record
// keeps it in; "" when tracing is off or ctx holds no sampled span.
func TraceParent(ctx context.Context) string {
	if !Enabled() || !trace.SpanContextFromContext(ctx).IsSampled() {
		return ""
	}
	m := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, m)
	return m["traceparent"]
}

// FromTraceParent returns ctx with tp (a W3C traceparent) as its remote
// parent; ctx itself for an empty or malformed one, or with tracing off.
func FromTraceParent(ctx context.Context, tp string) context.Context {
	if !Enabled() || tp == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
}

// TraceID is the id of ctx's sampled trace, "" when there is none: what a
// job record, an exemplar or a log line names.
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		return sc.TraceID().String()
	}
	return ""
}
