package webhook

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/stickerd/stickerd/internal/tracing"
)

var tracer = tracing.Tracer("webhook")

// Deliver POSTs body (the job, JSON) to rawURL as message id, retrying as
// the Config says. It returns nil once the receiver answers 2xx; an
// errcode WEBHOOK_FAILED error (with an *AttemptError cause) when the
// attempts are exhausted, the answer is final, or the URL is refused; and
// ctx's error, unwrapped by errcode, when ctx is canceled (a shutdown
// abandons a delivery, it does not fail it).
//
// Inside a trace (the job's), the delivery is a span of it, with a client
// span per attempt below.
func (s *Sender) Deliver(ctx context.Context, rawURL, id string, body []byte) error {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return s.deliver(ctx, rawURL, id, body)
	}
	ctx, span := tracer.Start(ctx, "webhook", trace.WithAttributes(attribute.String("stickerd.webhook.message_id", id)))
	defer span.End()
	err := s.deliver(ctx, rawURL, id, body)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}
