package queue

import (
	"context"
	"strconv"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/stickerd/stickerd/internal/tracing"
)

var tracer = tracing.Tracer("queue")

// tracePublish starts the producer span of a publish and returns the
// headers that carry it to the consumers (W3C traceparent), and the
// function that ends it. With tracing off, or outside any trace, it does
// nothing: no span, no headers.
func tracePublish(ctx context.Context, msgs []Message) (headers []kafka.Header, end func(error)) {
	if !tracing.Enabled() || !trace.SpanContextFromContext(ctx).IsValid() {
		return nil, func(error) {}
	}
	topic := msgs[0].Topic
	attrs := []attribute.KeyValue{attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.operation.type", "send"), attribute.String("messaging.destination.name", topic)}
	if len(msgs) == 1 {
		attrs = append(attrs, attribute.String("messaging.kafka.message.key", string(msgs[0].Key)))
	} else {
		attrs = append(attrs, attribute.Int("messaging.batch.message_count", len(msgs)))
	}
	ctx, span := tracer.Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	for k, v := range tracing.Inject(ctx) {
		headers = append(headers, kafka.Header{Key: k, Value: []byte(v)})
	}
	return headers, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// traceConsume continues the trace a message carries in its headers with
// a consumer span, the parent of what the handler does. A message without
// one (published outside a trace, or with tracing off) gets no span: a
// consumer does not start traces of its own.
func (c *Consumer) traceConsume(ctx context.Context, km kafka.Message) (context.Context, func(ok bool)) {
	if !tracing.Enabled() || len(km.Headers) == 0 {
		return ctx, func(bool) {}
	}
	h := make(map[string]string, len(km.Headers))
	for _, kh := range km.Headers {
		h[kh.Key] = string(kh.Value)
	}
	pctx := tracing.Extract(ctx, h)
	if !trace.SpanContextFromContext(pctx).IsValid() {
		return ctx, func(bool) {}
	}
	ctx, span := tracer.Start(pctx, "process "+km.Topic, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.destination.name", km.Topic), attribute.String("messaging.consumer.group.name", c.group),
		attribute.String("messaging.kafka.message.key", string(km.Key)),
		attribute.String("messaging.destination.partition.id", strconv.Itoa(km.Partition)),
		attribute.Int64("messaging.kafka.offset", km.Offset)))
	return ctx, func(ok bool) {
		if !ok {
			span.SetStatus(codes.Error, "not handled before the consumer stopped")
		}
		span.End()
	}
}
