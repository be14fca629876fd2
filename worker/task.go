package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/proto/workerpb"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/spec"
)

// start begins an assigned render unless it already runs (a re-sent
// assignment) or the worker is draining (handed straight back).
func (w *Worker) start(a *workerpb.Assign) {
	id := jobs.ID(a.GetJobId())
	w.mu.Lock()
	if t, ok := w.tasks[id]; ok && t.fence == a.GetFence() {
		w.mu.Unlock()
		return
	}
	if w.draining || w.runCtx == nil {
		w.mu.Unlock()
		w.report(id, a.GetFence(), &workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Released{
			Released: &workerpb.Released{JobId: string(id), Fence: a.GetFence()}}})
		return
	}
	ctx, cancel := context.WithCancel(w.runCtx)
	t := &task{fence: a.GetFence(), cancel: cancel}
	w.tasks[id] = t
	w.mu.Unlock()
	go w.execute(ctx, a, t)
}

func (w *Worker) cancelJob(id jobs.ID, fence int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.tasks[id]; ok && t.fence == fence {
		t.canceled = true
		t.cancel()
	}
}

func (w *Worker) execute(ctx context.Context, a *workerpb.Assign, t *task) {
	id := jobs.ID(a.GetJobId())
	start := w.clock.Now()
	ctx, jt := w.startJob(ctx, a)
	msg := w.render(ctx, a, t)
	jt.end(msg)
	w.mu.Lock()
	if killed := w.killed; killed || msg == nil {
		delete(w.tasks, id)
		w.notifyLocked()
		w.mu.Unlock()
		t.cancel()
		return
	}
	// The report is pending before the task is gone, so that a drain never
	// sees the worker quiet in between.
	w.pending[id] = &pendingReport{msg: msg, fence: t.fence, sentAt: w.clock.Now()}
	delete(w.tasks, id)
	w.notifyLocked()
	w.mu.Unlock()
	t.cancel()
	w.log.InfoContext(ctx, "job done", "job", id, "seconds", w.clock.Since(start).Seconds(), "result", kind(msg))
	if outcome, ok := map[string]string{"complete": "succeeded", "fail": "failed", "released": "canceled"}[kind(msg)]; ok {
		metrics.Renders.WithLabelValues(outcome).Inc()
	}
	w.push(msg)
}

// render runs one job and returns the report to send.
func (w *Worker) render(ctx context.Context, a *workerpb.Assign, t *task) *workerpb.WorkerMessage {
	id, fence := a.GetJobId(), a.GetFence()
	fail := func(err error) *workerpb.WorkerMessage {
		code := errcode.Of(err)
		if w.deps.Errors != nil {
			w.deps.Errors.Report(ctx, errevents.FromError("worker", err, id, "", a.GetTenant()))
		}
		return &workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Fail{Fail: &workerpb.Fail{
			JobId: id, Fence: fence, Code: string(code), Message: err.Error(), Retryable: retryable(err)}}}
	}
	s, err := spec.Parse(a.GetSpec(), spec.ParseOptions{})
	if err != nil {
		return fail(err)
	}
	// Files go straight into the work folder, named by job and fence: no
	// folder per job (the engine keeps its own scratch folder), since a
	// directory costs a syscall round on every job.
	base := filepath.Join(w.cfg.WorkDir, fmt.Sprintf("%s-%d", id, fence))
	out := base + "." + s.Output.Format
	defer os.Remove(out) // moved into the blob store on success
	renderStart := w.clock.Now()
	rs := &resolver{blobs: w.scratch, fetch: w.fetch, tenant: a.GetTenant(), base: base}
	defer rs.cleanup()
	if a.GetTask() != "" {
		o, err := w.runTask(ctx, a, s, t, rs, base)
		if m, stop := w.stopped(ctx, a, t, err); stop {
			return m
		}
		if err != nil {
			return fail(err)
		}
		return &workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Complete{Complete: &workerpb.Complete{
			JobId: id, Fence: fence, Output: o}}}
	}
	split, err := w.planSplit(ctx, a, render.Job{Spec: s, Output: out, Resolver: rs})
	if m, stop := w.stopped(ctx, a, t, err); stop {
		return m
	}
	if err != nil {
		return fail(err)
	}
	if split != nil {
		return split
	}
	res, err := w.r.Render(ctx, render.Job{Spec: s, Output: out, Resolver: rs,
		Progress: func(p float64) { w.progress(jobs.ID(id), t, p) }})
	mark(ctx, encoded)
	if m, stop := w.stopped(ctx, a, t, err); stop {
		return m
	}
	if err != nil {
		return fail(err)
	}
	class := "cpu"
	if res.Encoder.Hardware {
		class = "gpu"
	}
	took := w.clock.Since(renderStart).Seconds()
	metrics.Observe(ctx, metrics.RenderDuration.WithLabelValues(class, res.Format), took)
	if took > 0 {
		metrics.Observe(ctx, metrics.RenderRealtime.WithLabelValues(class, res.Format), res.Duration/took)
	}
	metrics.RenderOutputBytes.WithLabelValues(res.Format).Observe(float64(res.Bytes))
	key := blob.OutputKey(a.GetTenant(), id, fence, res.Format)
	n, err := storeOutput(ctx, w.blobs, key, out)
	if err != nil {
		return fail(errcode.Wrap(errcode.StorageFailed, err, "storing the output"))
	}
	return &workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Complete{Complete: &workerpb.Complete{
		JobId: id, Fence: fence, Output: &workerpb.Output{Key: key, Bytes: n, Format: res.Format,
			Width: int32(res.Width), Height: int32(res.Height), Duration: res.Duration, Encoder: res.Encoder.Name,
			RenderSeconds: took, Plan: summary(w.r, res)}}}}
}

// summary is the plan summary of a finished render, when the renderer
// plans.
func summary(r Renderer, res *render.Result) []byte {
	if p, ok := r.(Planner); ok {
		return p.Summary(res)
	}
	return nil
}

// stopped is the report of a render that ended because it was stopped:
// canceled on request or handed back (Released), or killed or shut down
// (nil: the scheduler's timers take over). stop is false when the render
// was not stopped.
func (w *Worker) stopped(ctx context.Context, a *workerpb.Assign, t *task, err error) (m *workerpb.WorkerMessage, stop bool) {
	if ctx.Err() == nil && !errors.Is(err, context.Canceled) && errcode.Of(err) != errcode.Canceled {
		return nil, false
	}
	w.mu.Lock()
	canceled, back := t.canceled, t.handedBack
	w.mu.Unlock()
	if canceled || back {
		return &workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Released{Released: &workerpb.Released{
			JobId: a.GetJobId(), Fence: a.GetFence(), Canceled: canceled}}}, true
	}
	return nil, true
}

func (w *Worker) progress(id jobs.ID, t *task, p float64) {
	w.mu.Lock()
	now := w.clock.Now()
	due := now.Sub(t.lastProg) >= w.cfg.ProgressInterval || p >= 1
	if due {
		t.lastProg = now
	}
	w.mu.Unlock()
	if due {
		w.push(&workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Progress{Progress: &workerpb.Progress{
			JobId: string(id), Fence: t.fence, Progress: p}}})
	}
}

// report keeps a result until the scheduler acknowledges it, and sends it.
func (w *Worker) report(id jobs.ID, fence int64, m *workerpb.WorkerMessage) {
	w.mu.Lock()
	w.pending[id] = &pendingReport{msg: m, fence: fence, sentAt: w.clock.Now()}
	w.mu.Unlock()
	w.push(m)
}

// acked forgets a report the scheduler answered. A completion it refused
// (the job moved on to another attempt, or ended) leaves an output nobody
// will serve: it is removed, the accepted attempt's own file untouched
// since every attempt writes under its own fencing token.
func (w *Worker) acked(id jobs.ID, fence int64, accepted bool) {
	w.mu.Lock()
	p, ok := w.pending[id]
	if !ok || p.fence != fence {
		w.mu.Unlock()
		return
	}
	delete(w.pending, id)
	w.notifyLocked()
	w.mu.Unlock()
	if c := p.msg.GetComplete(); c != nil && !accepted && c.GetOutput().GetKey() != "" {
		go w.removeRefused(id, fence, c.GetOutput().GetKey()) // not on the stream's receive loop
	}
}

func (w *Worker) removeRefused(id jobs.ID, fence int64, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.blobs.Delete(ctx, key); err != nil {
		w.log.Warn("could not remove the output of a refused attempt", "job", id, "fence", fence, "key", key, "err", err)
		return
	}
	w.log.Warn("removed the output of a refused attempt", "job", id, "fence", fence, "key", key)
}

// Retryable reports whether another attempt (on another worker) may
// succeed where this one failed; input errors never do.
func Retryable(code errcode.Code) bool {
	switch code {
	case errcode.SpecInvalid, errcode.AssetNotFound, errcode.AssetUnsupported, errcode.AssetTooLarge,
		errcode.SourceUnreadable, errcode.OutputTooLarge, errcode.Canceled:
		return false
	}
	return true
}

// retryable is Retryable for an error: a failure whose cause is marked
// errcode.ErrPermanent (a source URL that answers 404, a host that does
// not exist, a refused address) fails the same way on every worker, so
// it is not retried even under a code that usually is.
func retryable(err error) bool {
	return Retryable(errcode.Of(err)) && !errcode.Permanent(err)
}

func kind(m *workerpb.WorkerMessage) string {
	switch m.Msg.(type) {
	case *workerpb.WorkerMessage_Complete:
		return "complete"
	case *workerpb.WorkerMessage_Fail:
		return "fail"
	case *workerpb.WorkerMessage_Released:
		return "released"
	case *workerpb.WorkerMessage_Split:
		return "split"
	}
	return "?"
}
