package wiring

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/worker"
)

// EnginePlanner is the render engine as a worker renders with it: every
// job whole (worker.Renderer), or cut into parts that many workers render
// at once and one stitches (worker.Planner). Plans travel between the
// processes as the engine's own JSON.
type EnginePlanner struct{ *render.Engine }

var _ worker.Planner = EnginePlanner{}

// Renderer is eng as a worker's renderer: one that plans.
func Renderer(eng *render.Engine) worker.Renderer { return EnginePlanner{eng} }

// Plan implements worker.Planner: a plan with fewer than two parts is
// rendered whole by the worker that planned it (Render plans again, on
// its own, for one worker).
func (p EnginePlanner) Plan(ctx context.Context, job render.Job, workers int, splitMin float64) (plan, summary []byte, weights []float64, err error) {
	pl, err := p.Engine.Plan(ctx, job, render.PlanOptions{Workers: workers, SplitMinSeconds: splitMin})
	if err != nil || len(pl.Parts) < 2 {
		return nil, nil, nil, err
	}
	if plan, err = json.Marshal(pl); err != nil {
		return nil, nil, nil, fmt.Errorf("wiring: encoding the plan: %w", err)
	}
	for _, part := range pl.Parts {
		weights = append(weights, part.Weight)
	}
	return plan, summaryOf(pl, render.EncoderChoice{}), weights, nil
}

// RenderPart implements worker.Planner.
func (p EnginePlanner) RenderPart(ctx context.Context, job render.Job, plan []byte, index int, base string) (string, error) {
	pl, err := decodePlan(plan)
	if err != nil {
		return "", err
	}
	out := base + render.PartExt
	if _, err := p.Engine.RenderPart(ctx, job, pl, index, out); err != nil {
		return out, err
	}
	return out, nil
}

// Stitch implements worker.Planner.
func (p EnginePlanner) Stitch(ctx context.Context, job render.Job, plan []byte, parts []string) (*render.Result, error) {
	pl, err := decodePlan(plan)
	if err != nil {
		return nil, err
	}
	return p.Engine.Stitch(ctx, job, pl, parts)
}

// Summary implements worker.Planner.
func (p EnginePlanner) Summary(res *render.Result) []byte {
	if res == nil || res.Plan == nil {
		return nil
	}
	return summaryOf(res.Plan, res.Encoder)
}

func decodePlan(b []byte) (*render.Plan, error) {
	var pl render.Plan
	if err := json.Unmarshal(b, &pl); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "the task's plan cannot be read")
	}
	return &pl, nil
}

// summaryOf is the plan as clients see it: how the render was cut, not
// the parts and source parameters the workers need, and, for a whole
// render, where its frames were composited (the CPU or a GPU chain) and why.
func summaryOf(pl *render.Plan, enc render.EncoderChoice) []byte {
	b, _ := json.Marshal(struct {
		Mode           string  `json:"mode"`
		Segments       int     `json:"segments"`
		EncodedSeconds float64 `json:"encoded_seconds"`
		CopiedSeconds  float64 `json:"copied_seconds"`
		Workers        int     `json:"workers"`
		Reason         string  `json:"reason,omitempty"`
		Chain          string  `json:"chain,omitempty"`
		ChainReason    string  `json:"chain_reason,omitempty"`
	}{pl.Mode, pl.Segments, pl.EncodedSeconds, pl.CopiedSeconds, pl.Workers, pl.Reason, enc.Chain, enc.ChainReason})
	return b
}
