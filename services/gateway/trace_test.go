package gateway

import (
	"context"
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/tracing"
)

// TestTrace_SubmitStartsTheJobsTrace: with tracing on, a submission's
// server span is the root of the job's trace and the record keeps its
// context; a caller's traceparent is continued; probes get no span.
func TestTrace_SubmitStartsTheJobsTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	stop := tracing.Install(tracing.DefaultConfig("test"), rec)
	defer stop(context.Background())
	h := newHarness(t)

	var raw map[string]any
	decode(t, h.submit(canvasSpec("traced")), http.StatusAccepted, &raw)
	h.do("GET", "/healthz", nil).Body.Close()
	var server sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindServer {
			if server != nil {
				t.Fatalf("two server spans: %s and %s (a probe was traced)", server.Name(), s.Name())
			}
			server = s
		}
	}
	if server == nil || server.Name() != "POST /v1/renders" {
		t.Fatalf("no server span for the submission: %v", rec.Ended())
	}
	tid := server.SpanContext().TraceID().String()
	if raw["trace_id"] != tid {
		t.Fatalf("job trace_id %v, want the request's trace %s", raw["trace_id"], tid)
	}
	j, err := h.store.Get(h.ctx(), jobs.ID(raw["id"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.SpanContextFromContext(tracing.FromTraceParent(context.Background(), j.TraceParent))
	if parent.SpanID() != server.SpanContext().SpanID() || !parent.IsSampled() {
		t.Fatalf("record's traceparent %q does not name the request span %v", j.TraceParent, server.SpanContext())
	}

	// A client that traces its own call: the job joins the client's trace.
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	decode(t, h.submit(canvasSpec("joined"), "traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01"), http.StatusAccepted, &raw)
	if raw["trace_id"] != callerTrace {
		t.Fatalf("trace_id %v, want the caller's %s", raw["trace_id"], callerTrace)
	}
}

// TestTrace_RatioZeroTracesOnlyCallersTraces: at sample ratio 0 a request
// is traced only when its caller traces it.
func TestTrace_RatioZeroTracesOnlyCallersTraces(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	c := tracing.DefaultConfig("test")
	c.SampleRatio = 0
	stop := tracing.Install(c, rec)
	defer stop(context.Background())
	h := newHarness(t)
	var raw map[string]any
	decode(t, h.submit(canvasSpec("untraced")), http.StatusAccepted, &raw)
	if _, ok := raw["trace_id"]; ok || len(rec.Ended()) != 0 {
		t.Fatalf("an unsampled request was traced: %v, %d spans", raw["trace_id"], len(rec.Ended()))
	}
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	decode(t, h.submit(canvasSpec("joined"), "traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01"), http.StatusAccepted, &raw)
	if raw["trace_id"] != callerTrace || len(rec.Ended()) == 0 {
		t.Fatalf("a caller's sampled trace was not continued: %v", raw["trace_id"])
	}
}
