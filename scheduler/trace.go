package scheduler

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/tracing"
	"github.com/stickerd/stickerd/proto/workerpb"
)

var tracer = tracing.Tracer("scheduler")

// jobSpan starts a span of the job's trace: a child of its submission,
// whose context the record keeps (TraceParent), so whichever replica
// dispatches or records the job continues the same trace. A job submitted
// untraced, or tracing off, gets no span (a no-op one to End).
func jobSpan(ctx context.Context, j *jobs.Job, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if j == nil || j.TraceParent == "" || !tracing.Enabled() {
		return ctx, noop.Span{}
	}
	// The leader's context carries its term, not a trace: the job's trace
	// is the parent.
	pctx := tracing.FromTraceParent(ctx, j.TraceParent)
	attrs = append(attrs, attribute.String("stickerd.job.id", string(j.ID)))
	return tracer.Start(pctx, name, trace.WithAttributes(attrs...))
}

// consumed remembers, per job, the Kafka consume span that brought it in,
// so that its assign span links to it: the job may reach the leader first
// through its store watch, so the consume span is not the assign span's
// parent, but a reader of the trace sees both. Bounded: a job assigned by
// another replica never takes its entry out.
var consumed = struct {
	sync.Mutex
	spans map[jobs.ID]trace.SpanContext
}{spans: map[jobs.ID]trace.SpanContext{}}

const maxConsumed = 10_000

// noteIntake records the consume span of ctx for job id (Intake).
func noteIntake(ctx context.Context, id jobs.ID) {
	if !tracing.Enabled() {
		return
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return
	}
	consumed.Lock()
	if len(consumed.spans) >= maxConsumed {
		clear(consumed.spans)
	}
	consumed.spans[id] = sc
	consumed.Unlock()
}

// takeIntake returns and forgets the consume span of job id.
func takeIntake(id jobs.ID) (trace.SpanContext, bool) {
	consumed.Lock()
	defer consumed.Unlock()
	sc, ok := consumed.spans[id]
	delete(consumed.spans, id)
	return sc, ok
}

// traceAssign is the span of one assignment: the compare-and-swap that
// makes the job running (its etcd request a child span) and the Assign
// sent on the worker's stream. The stream lives as long as the worker, so
// the Assign itself carries the span's context (withTrace) and the
// worker's spans become its children.
func traceAssign(ctx context.Context, it *item, workerID string) (context.Context, trace.Span) {
	ctx, span := jobSpan(ctx, it.job, "assign", attribute.String("stickerd.worker.id", workerID),
		attribute.Float64("stickerd.job.queued_seconds", time.Since(it.created).Seconds()))
	if !span.IsRecording() {
		return ctx, span // an untraced job, or tracing off: nothing more to do
	}
	if sc, ok := takeIntake(it.id); ok {
		span.AddLink(trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.String("stickerd.link", "kafka intake")}})
	}
	return ctx, span
}

// withTrace puts ctx's span into an Assign for the worker.
func withTrace(ctx context.Context, m *workerpb.SchedulerMessage) *workerpb.SchedulerMessage {
	span := trace.SpanFromContext(ctx)
	if a := m.GetAssign(); a != nil && span.IsRecording() {
		a.Trace = tracing.Inject(ctx)
		span.SetAttributes(attribute.Int64("stickerd.job.fence", a.GetFence()), attribute.Int("stickerd.job.attempt", int(a.GetAttempt())))
	}
	return m
}

// traceReport is the span of recording a worker's report of a job the
// leader holds.
func (s *Scheduler) traceReport(ctx context.Context, id jobs.ID, name string) (context.Context, trace.Span) {
	if !tracing.Enabled() {
		return ctx, noop.Span{}
	}
	s.mu.Lock()
	j := s.records[id]
	s.mu.Unlock()
	return jobSpan(ctx, j, name)
}

// phases are the worker's phase times of a completion, for the timeline.
func phases(p *workerpb.Phases) jobs.Phases {
	at := func(ns int64) time.Time {
		if ns <= 0 {
			return time.Time{}
		}
		return time.Unix(0, ns).UTC()
	}
	return jobs.Phases{Started: at(p.GetStartedUnixNano()), InputsFetched: at(p.GetInputsFetchedUnixNano()),
		Encoded: at(p.GetEncodedUnixNano()), Stored: at(p.GetStoredUnixNano())}
}
