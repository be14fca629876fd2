package wiring

import (
	"context"
	"fmt"
	"os"
	"strconv"
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
	// Parts, 2 or more, plans every job that may go to several workers
	// into this many parts (worker.Planner): each part writes its index,
	// after Delay; the stitch writes the parts' contents joined, so a
	// test reads which parts went in, in which order.
	Parts int
}

// Plan implements worker.Planner.
func (n NoopRenderer) Plan(ctx context.Context, job render.Job, workers int, splitMin float64) (plan, summary []byte, weights []float64, err error) {
	if n.Parts < 2 || workers < 2 {
		return nil, nil, nil, nil
	}
	for range n.Parts {
		weights = append(weights, 1/float64(n.Parts))
	}
	plan = []byte(fmt.Sprintf(`{"parts":%d}`, n.Parts))
	summary = []byte(fmt.Sprintf(`{"mode":"split","segments":%d,"encoded_seconds":0,"copied_seconds":0,"workers":%d}`, n.Parts, min(workers, n.Parts)))
	return plan, summary, weights, nil
}

// RenderPart implements worker.Planner.
func (n NoopRenderer) RenderPart(ctx context.Context, job render.Job, plan []byte, index int, base string) (string, error) {
	if err := n.wait(ctx); err != nil {
		return "", err
	}
	path := base + ".part"
	return path, os.WriteFile(path, []byte(strconv.Itoa(index)+";"), 0o644)
}

// Stitch implements worker.Planner.
func (n NoopRenderer) Stitch(ctx context.Context, job render.Job, plan []byte, parts []string) (*render.Result, error) {
	var joined []byte
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		joined = append(joined, b...)
	}
	if err := os.WriteFile(job.Output, joined, 0o644); err != nil {
		return nil, err
	}
	return &render.Result{Path: job.Output, Format: job.Spec.Output.Format, Bytes: int64(len(joined)), Encoder: render.EncoderChoice{Name: "noop"}}, nil
}

// Summary implements worker.Planner.
func (n NoopRenderer) Summary(*render.Result) []byte {
	return []byte(`{"mode":"full","segments":1,"encoded_seconds":0,"copied_seconds":0,"workers":1}`)
}

func (n NoopRenderer) wait(ctx context.Context) error {
	if n.Delay <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(n.Delay):
		return nil
	}
}

// Render implements worker.Renderer.
func (n NoopRenderer) Render(ctx context.Context, job render.Job) (*render.Result, error) {
	if err := n.wait(ctx); err != nil {
		return nil, err
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
