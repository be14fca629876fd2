package submit

import (
	"context"

	"github.com/stickerd/stickerd/internal/jobs"
)

// Origin is where a job's spec came from: the template version it was
// expanded from. Every submit call records the Origin of its context on
// the job it makes, whichever path (idempotency key, caller's id) it
// takes.
type Origin struct {
	TemplateID      string
	TemplateVersion int
}

type originKey struct{}

// WithOrigin returns ctx carrying o for the submits made with it.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// stampOrigin records the Origin of ctx, if any, on a new job.
func stampOrigin(ctx context.Context, j *jobs.Job) {
	if o, ok := ctx.Value(originKey{}).(Origin); ok {
		j.TemplateID, j.TemplateVersion = o.TemplateID, o.TemplateVersion
	}
}
