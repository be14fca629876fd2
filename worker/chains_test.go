package worker

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/proto/workerpb"
	"github.com/stickerd/stickerd/render"
)

// gpuRenderer is a testRenderer on a machine whose GPU chains passed
// their trial (an H200: CUDA, no NVENC).
type gpuRenderer struct{ testRenderer }

func (gpuRenderer) Capabilities() render.Capabilities {
	return render.Capabilities{FFmpegVersion: "5.1", GPU: render.GPUCUDAOnly, GPUName: "NVIDIA H200",
		Encoders: map[string]bool{"libx264": true}, GPUChains: []string{render.ChainGPUComposite}}
}

func TestCapabilities_AdvertiseGPUChains(t *testing.T) {
	tests := []struct {
		name   string
		r      Renderer
		state  workerpb.GPUState
		chains []string
	}{
		{"cpu", &testRenderer{}, workerpb.GPUState_GPU_STATE_NONE, nil},
		{"h200", &gpuRenderer{}, workerpb.GPUState_GPU_STATE_CUDA, []string{render.ChainGPUComposite}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "chains-" + tt.name
			w := &Worker{cfg: Config{ID: id, Concurrency: 2}, r: tt.r}
			caps := w.capabilities()
			if caps.GetGpuState() != tt.state || !slices.Equal(caps.GetGpuChains(), tt.chains) {
				t.Fatalf("Register carries %s %v, want %s %v", caps.GetGpuState(), caps.GetGpuChains(), tt.state, tt.chains)
			}
			exportChains(id, tt.r.Capabilities())
			for _, ch := range []string{render.ChainCPU, render.ChainGPUComposite, render.ChainGPUCompositeNVENC} {
				want := 0.0
				if ch == render.ChainCPU || slices.Contains(tt.chains, ch) {
					want = 1
				}
				if got := testutil.ToFloat64(metrics.WorkerChains.WithLabelValues(id, ch)); got != want {
					t.Errorf("stickerd_worker_chain_info{chain=%q} = %v, want %v", ch, got, want)
				}
			}
		})
	}
}
