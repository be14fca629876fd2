package worker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/proto/workerpb"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/spec"
)

// Planner is a renderer that can cut a render into parts for many workers
// (burst rendering). Plans travel as the engine's own JSON: every task
// of a split job carries its job's plan out.
type Planner interface {
	// Plan plans job for up to workers workers, splitting when its
	// encoding work passes splitMin seconds: the plan, its summary for
	// clients, and the parts' shares of the work, one a part (fewer than
	// two: render the job whole).
	Plan(ctx context.Context, job render.Job, workers int, splitMin float64) (plan, summary []byte, weights []float64, err error)
	// RenderPart renders part index of plan, writing base plus the
	// extension of the plan's intermediate format; it returns that path.
	RenderPart(ctx context.Context, job render.Job, plan []byte, index int, base string) (string, error)
	// Stitch joins the parts' files (in plan order) into job.Output.
	Stitch(ctx context.Context, job render.Job, plan []byte, parts []string) (*render.Result, error)
	// Summary is the plan summary of a finished render, for clients.
	Summary(res *render.Result) []byte
}

// planSplit plans a job the scheduler said could go to many workers: a
// Split report when the plan has parts for several, nil to render it
// whole here.
func (w *Worker) planSplit(ctx context.Context, a *workerpb.Assign, job render.Job) (*workerpb.WorkerMessage, error) {
	p, ok := w.r.(Planner)
	if !ok || a.GetWorkers() < 2 || a.GetSplitMinSeconds() <= 0 {
		return nil, nil
	}
	pctx, end := tracePlan(ctx, a.GetWorkers())
	plan, summary, weights, err := p.Plan(pctx, job, int(a.GetWorkers()), a.GetSplitMinSeconds())
	end(len(weights), err)
	if err != nil || len(weights) < 2 {
		return nil, err
	}
	if len(weights) > jobs.MaxParts {
		return nil, fmt.Errorf("worker: the plan has %d parts, more than %d", len(weights), jobs.MaxParts)
	}
	w.log.Info("job planned for many workers", "job", a.GetJobId(), "parts", len(weights))
	return &workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Split{Split: &workerpb.Split{
		JobId: a.GetJobId(), Fence: a.GetFence(), Plan: plan, Summary: summary, Weights: weights}}}, nil
}

// runTask carries out a task of a split job: a part, stored under its
// own key, or the stitch, stored as the job's output.
func (w *Worker) runTask(ctx context.Context, a *workerpb.Assign, s *spec.Spec, t *task, rs *resolver, base string) (*workerpb.Output, error) {
	p, ok := w.r.(Planner)
	if !ok {
		return nil, errcode.New(errcode.Internal, "this worker's renderer cannot render parts of a split job")
	}
	id := jobs.ID(a.GetJobId())
	job := render.Job{Spec: s, Resolver: rs, Progress: func(f float64) { w.progress(id, t, f) }}
	switch a.GetTask() {
	case jobs.TaskPart:
		path, err := p.RenderPart(ctx, job, a.GetPlan(), int(a.GetPart()), base)
		if path != "" {
			defer os.Remove(path)
		}
		if err != nil {
			return nil, err
		}
		key := blob.PartKey(a.GetTenant(), a.GetParentId(), int(a.GetPart()), a.GetFence(), filepath.Ext(path))
		n, err := w.blobs.PutFile(ctx, key, path)
		if err != nil {
			return nil, errcode.Wrap(errcode.StorageFailed, err, "storing part %d", a.GetPart())
		}
		return &workerpb.Output{Key: key, Bytes: n, Format: filepath.Ext(path)}, nil
	case jobs.TaskStitch:
		parts := make([]string, len(a.GetPartKeys()))
		for i, key := range a.GetPartKeys() {
			path, release, err := w.scratch.Acquire(ctx, key)
			if err != nil {
				return nil, errcode.Wrap(errcode.StorageFailed, err, "reading part %d", i)
			}
			defer release()
			parts[i] = path
		}
		job.Output = base + "." + s.Output.Format
		defer os.Remove(job.Output)
		res, err := p.Stitch(ctx, job, a.GetPlan(), parts)
		if err != nil {
			return nil, err
		}
		key := blob.OutputKey(a.GetTenant(), a.GetParentId(), a.GetFence(), res.Format)
		n, err := w.blobs.PutFile(ctx, key, job.Output)
		if err != nil {
			return nil, errcode.Wrap(errcode.StorageFailed, err, "storing the output")
		}
		return &workerpb.Output{Key: key, Bytes: n, Format: res.Format, Width: int32(res.Width), Height: int32(res.Height),
			Duration: res.Duration, Encoder: res.Encoder.Name, Plan: p.Summary(res)}, nil
	}
	return nil, errcode.New(errcode.Internal, "unknown task kind %q", a.GetTask())
}
