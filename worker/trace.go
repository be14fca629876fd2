package worker

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/tracing"
	"github.com/stickerd/stickerd/proto/workerpb"
	"github.com/stickerd/stickerd/render"
)

var tracer = tracing.Tracer("worker")

// jobTrace follows one assignment on the worker: its span, a child of
// the scheduler's assign span whose context the Assign carries, and the
// phase times of the job's timeline, which go back with the completion.
// The times are kept whether or not tracing is on: the timeline is every
// job's.
type jobTrace struct {
	span trace.Span
	now  func() time.Time // the worker's clock

	mu                                sync.Mutex
	started, fetched, encoded, stored time.Time
}

type jobTraceKey struct{}

// startJob begins an assignment's span and timeline; the returned
// context carries both to the steps below (traceOf).
func (w *Worker) startJob(ctx context.Context, a *workerpb.Assign) (context.Context, *jobTrace) {
	jt := &jobTrace{span: noop.Span{}, now: w.clock.Now, started: w.clock.Now()}
	if tracing.Enabled() && len(a.GetTrace()) > 0 {
		attrs := []attribute.KeyValue{attribute.String("stickerd.job.id", a.GetJobId()),
			attribute.Int64("stickerd.job.fence", a.GetFence()), attribute.Int("stickerd.job.attempt", int(a.GetAttempt())),
			attribute.String("stickerd.worker.id", w.cfg.ID)}
		if a.GetTask() != "" {
			attrs = append(attrs, attribute.String("stickerd.task", a.GetTask()), attribute.Int("stickerd.task.part", int(a.GetPart())))
		}
		ctx, jt.span = tracer.Start(tracing.Extract(ctx, a.GetTrace()), "render", trace.WithAttributes(attrs...))
	}
	return context.WithValue(ctx, jobTraceKey{}, jt), jt
}

// end closes the span with the report the render came to, and writes
// the timeline into a completion.
func (jt *jobTrace) end(m *workerpb.WorkerMessage) {
	if c := m.GetComplete(); c != nil {
		c.Phases = jt.phases()
	}
	if m != nil {
		jt.span.SetAttributes(attribute.String("stickerd.result", kind(m)))
	}
	if f := m.GetFail(); f != nil {
		jt.span.SetStatus(codes.Error, f.GetCode()+": "+f.GetMessage())
	}
	jt.span.End()
}

func (jt *jobTrace) phases() *workerpb.Phases {
	jt.mu.Lock()
	defer jt.mu.Unlock()
	fetched := jt.fetched
	if fetched.IsZero() && !jt.encoded.IsZero() {
		fetched = jt.started // nothing to fetch: every input was on the worker from the start
	}
	ns := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixNano()
	}
	return &workerpb.Phases{StartedUnixNano: ns(jt.started), InputsFetchedUnixNano: ns(fetched),
		EncodedUnixNano: ns(jt.encoded), StoredUnixNano: ns(jt.stored)}
}

// traceOf is the assignment's trace, nil outside one (tests calling the
// steps directly).
func traceOf(ctx context.Context) *jobTrace {
	jt, _ := ctx.Value(jobTraceKey{}).(*jobTrace)
	return jt
}

// mark records when a phase ended; the latest call wins (the last input
// fetched).
func mark(ctx context.Context, phase func(*jobTrace) *time.Time) {
	if jt := traceOf(ctx); jt != nil {
		jt.mu.Lock()
		*phase(jt) = jt.now()
		jt.mu.Unlock()
	}
}

func fetched(jt *jobTrace) *time.Time { return &jt.fetched }
func encoded(jt *jobTrace) *time.Time { return &jt.encoded }

// span starts a child span of the assignment's, or nothing outside a
// trace.
func span(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, func(error)) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, func(error) {}
	}
	ctx, s := tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			s.RecordError(err)
			s.SetStatus(codes.Error, err.Error())
		}
		s.End()
	}
}

// traceFetch is the span of fetching one input the spec names; its end
// marks the inputs fetched so far.
func traceFetch(ctx context.Context, ref render.AssetRef) (context.Context, func(error)) {
	kind, attrs := "asset", []attribute.KeyValue{attribute.String("stickerd.input.field", ref.Field)}
	if ref.URL != "" {
		kind = "url" // not the URL itself: it may carry a signature or a token
	}
	ctx, end := span(ctx, "fetch input", append(attrs, attribute.String("stickerd.input.kind", kind))...)
	return ctx, func(err error) {
		mark(ctx, fetched)
		end(err)
	}
}

// tracePlan is the span of asking the planner how to cut a job.
func tracePlan(ctx context.Context, workers int32) (context.Context, func(parts int, err error)) {
	ctx, end := span(ctx, "plan", attribute.Int("stickerd.plan.workers", int(workers)))
	return ctx, func(parts int, err error) {
		trace.SpanFromContext(ctx).SetAttributes(attribute.Int("stickerd.plan.parts", parts))
		end(err)
	}
}

// storeOutput moves a finished render into the blob store, as a span of
// its own, and marks the output stored.
func storeOutput(ctx context.Context, blobs blob.Store, key, path string) (int64, error) {
	ctx, end := span(ctx, "store output")
	n, err := blobs.PutFile(ctx, key, path)
	if err == nil {
		trace.SpanFromContext(ctx).SetAttributes(attribute.Int64("stickerd.output.bytes", n))
		mark(ctx, func(jt *jobTrace) *time.Time { return &jt.stored })
	}
	end(err)
	return n, err
}
