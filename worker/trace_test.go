package worker

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stickerd/stickerd/internal/tracing"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// TestTrace_AssignmentContinuesTheJobsTrace: the worker's render span is
// a child of the span the Assign carries, storing the output is its child,
// and the completion carries the phases of the timeline in order.
func TestTrace_AssignmentContinuesTheJobsTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	stop := tracing.Install(tracing.DefaultConfig("test"), rec)
	defer stop(context.Background())
	n := newNetwork(t, "s1")
	g := newRig(t, testConfig(t, "s1"), n, &testRenderer{started: make(chan string, 4)})
	g.run()
	c := g.session("s1")

	pctx, assign := tracing.Tracer("test").Start(context.Background(), "assign", trace.WithSpanKind(trace.SpanKindServer))
	c.out <- &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Assign{Assign: &workerpb.Assign{
		JobId: "job_1", Fence: 5, Spec: []byte(testSpec), Attempt: 1, Tenant: "t1", Trace: tracing.Inject(pctx)}}}
	m := c.report(t)
	assign.End()
	done := m.GetComplete()
	if done == nil {
		t.Fatalf("report %v, want a completion", m)
	}
	p := done.GetPhases()
	steps := []int64{p.GetStartedUnixNano(), p.GetInputsFetchedUnixNano(), p.GetEncodedUnixNano(), p.GetStoredUnixNano()}
	for i, at := range steps {
		if at == 0 || (i > 0 && at < steps[i-1]) {
			t.Fatalf("phases %v: want every phase, in order", p)
		}
	}
	ids := map[string]trace.SpanID{}
	parents := map[string]trace.SpanID{}
	for _, s := range rec.Ended() {
		ids[s.Name()], parents[s.Name()] = s.SpanContext().SpanID(), s.Parent().SpanID()
	}
	if parents["render"] != assign.SpanContext().SpanID() || parents["store output"] != ids["render"] {
		t.Fatalf("spans %v with parents %v: want assign → render → store output", ids, parents)
	}

	// Untraced, the completion still carries the timeline.
	c.out <- &workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Assign{Assign: &workerpb.Assign{
		JobId: "job_2", Fence: 6, Spec: []byte(testSpec), Attempt: 1, Tenant: "t1"}}}
	before := len(rec.Ended())
	if m := c.report(t); m.GetComplete().GetPhases().GetStoredUnixNano() == 0 {
		t.Fatalf("untraced completion %v has no timeline", m)
	}
	if len(rec.Ended()) != before {
		t.Fatal("an untraced job made spans")
	}
}
