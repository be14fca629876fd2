package wiring

import (
	"context"
	"os"
	"time"

	"github.com/stickerd/stickerd/render"
)

// NoopRenderer renders nothing: it writes a small placeholder file after
// Delay. It exists to measure the pipeline (queueing, dispatch, state
// store, reports) without ffmpeg, as the pipeline benchmark does, and for
// tests whose subject is scheduling.
type NoopRenderer struct {
	Delay time.Duration
	// Fail, when set, is returned instead of rendering.
	Fail error
}

// Render implements worker.Renderer.
func (n NoopRenderer) Render(ctx context.Context, job render.Job) (*render.Result, error) {
	if n.Delay > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(n.Delay):
		}
	}
	if n.Fail != nil {
		return nil, n.Fail
	}
	if err := os.WriteFile(job.Output, []byte("noop"), 0o644); err != nil {
		return nil, err
	}
	if job.Progress != nil {
		job.Progress(1)
	}
	return &render.Result{Path: job.Output, Format: job.Spec.Output.Format, Bytes: 4, Encoder: render.EncoderChoice{Name: "noop"}}, nil
}

// Capabilities implements worker.Renderer.
func (NoopRenderer) Capabilities() render.Capabilities {
	return render.Capabilities{FFmpegVersion: "none", GPU: render.GPUNone}
}
