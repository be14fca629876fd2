package scheduler

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/tracing"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// TestTrace_AssignContinuesTheSubmission: the assign span is a child of
// the record's traceparent, links to the Kafka consume span that brought
// the job in, and its context goes to the worker in the Assign; a job
// submitted untraced gets no span and sends no context.
func TestTrace_AssignContinuesTheSubmission(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	stop := tracing.Install(tracing.DefaultConfig("test"), rec)
	defer stop(context.Background())
	tr := tracing.Tracer("test")
	rctx, req := tr.Start(context.Background(), "POST /v1/renders", trace.WithSpanKind(trace.SpanKindServer))
	cctx, consume := tr.Start(rctx, "process stickerd.render.jobs", trace.WithSpanKind(trace.SpanKindConsumer))
	j := &jobs.Job{ID: jobs.NewID(), TraceParent: tracing.TraceParent(rctx), TraceID: tracing.TraceID(rctx)}
	noteIntake(cctx, j.ID)
	consume.End()
	req.End()

	ctx, span := traceAssign(context.Background(), &item{id: j.ID, job: j, created: time.Now()}, "w1")
	m := withTrace(ctx, &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Assign{Assign: &workerpb.Assign{JobId: string(j.ID), Fence: 7}}})
	span.End()
	var assign trace.SpanContext
	for _, s := range rec.Ended() {
		if s.Name() != "assign" {
			continue
		}
		assign = s.SpanContext()
		if s.Parent().SpanID() != req.SpanContext().SpanID() {
			t.Fatalf("assign's parent %v, want the request %v", s.Parent().SpanID(), req.SpanContext().SpanID())
		}
		if l := s.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != consume.SpanContext().SpanID() {
			t.Fatalf("assign's links %v, want the consume span", l)
		}
	}
	got := trace.SpanContextFromContext(tracing.Extract(context.Background(), m.GetAssign().GetTrace()))
	if !assign.IsValid() || got.SpanID() != assign.SpanID() {
		t.Fatalf("the Assign carries %v, want the assign span %v", got, assign)
	}
	if _, ok := takeIntake(j.ID); ok {
		t.Fatal("the consume span was not forgotten once linked")
	}

	untraced := &jobs.Job{ID: jobs.NewID()}
	n := len(rec.Ended())
	ctx, span = traceAssign(context.Background(), &item{id: untraced.ID, job: untraced}, "w1")
	m = withTrace(ctx, &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Assign{Assign: &workerpb.Assign{JobId: string(untraced.ID)}}})
	span.End()
	if len(rec.Ended()) != n || m.GetAssign().GetTrace() != nil {
		t.Fatal("an untraced job got a span or sent a trace context")
	}
}
