package wiring

import (
	"encoding/json"
	"testing"

	"github.com/stickerd/stickerd/render"
)

// TestSummary_RecordsTheChain: a whole render's plan tells clients where
// its frames were composited and why; a split's summary names no chain.
func TestSummary_RecordsTheChain(t *testing.T) {
	res := &render.Result{Plan: &render.Plan{Mode: render.ModeFull, Segments: 1, EncodedSeconds: 10, Workers: 1},
		Encoder: render.EncoderChoice{Name: "libx264", Chain: render.ChainGPUComposite, ChainReason: "decoded, scaled and composited on the GPU (NVIDIA H200)"}}
	var got map[string]any
	if err := json.Unmarshal(EnginePlanner{}.Summary(res), &got); err != nil {
		t.Fatal(err)
	}
	if got["chain"] != "gpu-composite" || got["chain_reason"] != res.Encoder.ChainReason || got["mode"] != "full" {
		t.Fatalf("summary %v", got)
	}
	split := map[string]any{}
	if err := json.Unmarshal(summaryOf(&render.Plan{Mode: render.ModeSplit, Segments: 2}, render.EncoderChoice{}), &split); err != nil {
		t.Fatal(err)
	}
	if _, ok := split["chain"]; ok {
		t.Fatalf("split summary %v", split)
	}
}
