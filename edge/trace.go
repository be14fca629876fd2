package edge

import (
	"context"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/stickerd/stickerd/internal/tracing"
)

var tracer = tracing.Tracer("edge")

// newSession negotiates a session from offer. Inside a trace (the offer's
// request), the session gets two spans: "rtc session" for its whole life,
// ended at teardown with its stats, and "rtc negotiate" below it for the
// offer and answer. Frames get none: at 30 a second they would drown the
// trace, and the session's stats and the frame-latency histogram say
// what a span per frame would.
func newSession(ctx context.Context, e *Edge, tenant, offer string) (*session, string, error) {
	if !tracing.Enabled() || !trace.SpanContextFromContext(ctx).IsValid() {
		return negotiate(ctx, e, tenant, offer, lifeSpan{})
	}
	sctx, life := tracer.Start(ctx, "rtc session", trace.WithAttributes(attribute.String("stickerd.tenant", tenant)))
	nctx, neg := tracer.Start(sctx, "rtc negotiate")
	s, answer, err := negotiate(nctx, e, tenant, offer, lifeSpan{life})
	if err != nil {
		for _, sp := range []trace.Span{neg, life} {
			sp.RecordError(err)
			sp.SetStatus(codes.Error, err.Error())
		}
		neg.End()
		life.End()
		return nil, "", err
	}
	neg.SetAttributes(attribute.String("stickerd.session.id", string(s.id)))
	neg.End()
	return s, answer, nil
}

// lifeSpan is a session's "rtc session" span; the zero value is none.
type lifeSpan struct{ span trace.Span }

// end closes the session's span with what the session did: how long it
// lasted, the frames sent and dropped, the last frame rate and the frame
// latency percentiles over the recent window.
func (l lifeSpan) end(s *session, reason error) {
	if l.span == nil {
		return
	}
	st := s.stats
	st.mu.Lock()
	frames, dropped, fps := st.n, st.dropped, st.fps
	lat := slices.Clone(st.lat[:min(st.n, statsWindow)])
	st.mu.Unlock()
	p50, p95 := percentiles(lat)
	l.span.SetAttributes(attribute.String("stickerd.session.id", string(s.id)),
		attribute.Float64("stickerd.session.seconds", time.Since(s.started).Seconds()),
		attribute.Int("stickerd.session.frames", frames), attribute.Int64("stickerd.session.frames_dropped", dropped),
		attribute.Float64("stickerd.session.fps", round2(fps)),
		attribute.Float64("stickerd.session.latency_p50_ms", ms(p50)), attribute.Float64("stickerd.session.latency_p95_ms", ms(p95)))
	if reason != nil {
		l.span.SetAttributes(attribute.String("stickerd.session.end_reason", reason.Error()))
	}
	l.span.End()
}
