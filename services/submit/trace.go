package submit

import (
	"context"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/tracing"
)

// stampTrace records the trace of ctx (the submitting request's span) on a
// new job, so that whichever scheduler replica dispatches it continues
// that trace, and clients can look it up by the job's trace_id. Nothing
// when the request is not traced.
func stampTrace(ctx context.Context, j *jobs.Job) {
	if tp := tracing.TraceParent(ctx); tp != "" {
		j.TraceParent, j.TraceID = tp, tracing.TraceID(ctx)
	}
}
