package scheduler

import (
	"testing"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/proto/workerpb"
)

func testWorker(id string, conc int32, gpu workerpb.GPUState, running int) *worker {
	w := &worker{id: id, running: map[jobs.ID]int64{},
		caps: &workerpb.Capabilities{Concurrency: conc, GpuState: gpu, NvencSessionsFree: 3}}
	for i := 0; i < running; i++ {
		w.running[jobs.ID(id+string(rune('a'+i)))] = 1
	}
	return w
}

// withChains gives a test worker GPU chains that passed their trial.
func withChains(w *worker, chains ...string) *worker {
	w.caps.GpuChains = chains
	return w
}

func TestPlace(t *testing.T) {
	cpu := workerpb.GPUState_GPU_STATE_NONE
	cuda := workerpb.GPUState_GPU_STATE_CUDA
	nvenc := workerpb.GPUState_GPU_STATE_CUDA_NVENC
	none, h264 := gpuWant{}, gpuWant{h264: true}
	large, largeWebM := gpuWant{h264: true, large: true}, gpuWant{large: true}
	tests := []struct {
		name    string
		workers []*worker
		want    gpuWant
		placed  string
	}{
		{"none", nil, none, ""},
		{"least loaded", []*worker{testWorker("a", 4, cpu, 3), testWorker("b", 4, cpu, 1)}, none, "b"},
		{"full is skipped", []*worker{testWorker("a", 2, cpu, 2)}, none, ""},
		{"gpu preferred for h264", []*worker{testWorker("cpu", 8, cpu, 0), testWorker("gpu", 4, nvenc, 2)}, h264, "gpu"},
		{"gpu not preferred otherwise", []*worker{testWorker("cpu", 8, cpu, 0), testWorker("gpu", 4, nvenc, 2)}, none, "cpu"},
		{"draining is skipped", func() []*worker { w := testWorker("a", 4, cpu, 0); w.draining = true; return []*worker{w} }(), none, ""},
		{"busy over target is skipped", func() []*worker { w := testWorker("a", 4, cpu, 1); w.cpu = 0.9; return []*worker{w} }(), none, ""},
		{"idle over target still gets one", func() []*worker { w := testWorker("a", 4, cpu, 0); w.cpu = 0.9; return []*worker{w} }(), none, "a"},
		// An H200 composites on the GPU but has no NVENC: it gets large
		// outputs before an idle CPU worker, and small ones by load.
		{"gpu-composite preferred for a large output", []*worker{testWorker("cpu", 8, cpu, 0),
			withChains(testWorker("h200", 4, cuda, 2), "gpu-composite")}, largeWebM, "h200"},
		{"gpu-composite preferred for large h264", []*worker{testWorker("cpu", 8, cpu, 0),
			withChains(testWorker("h200", 4, cuda, 2), "gpu-composite")}, large, "h200"},
		{"gpu-composite not preferred for a small output", []*worker{testWorker("cpu", 8, cpu, 0),
			withChains(testWorker("h200", 4, cuda, 2), "gpu-composite")}, h264, "cpu"},
		{"a CUDA worker whose trial failed is a CPU worker", []*worker{testWorker("cpu", 8, cpu, 0),
			testWorker("h100", 4, cuda, 2)}, large, "cpu"},
		{"nvenc before gpu-composite for h264", []*worker{withChains(testWorker("h200", 8, cuda, 0), "gpu-composite"),
			withChains(testWorker("l4", 4, nvenc, 2), "gpu-composite+nvenc", "gpu-composite")}, large, "l4"},
		{"gpu-composite before nvenc alone for a large output", []*worker{withChains(testWorker("h200", 8, cuda, 1), "gpu-composite"),
			testWorker("nvenc-only", 4, nvenc, 0)}, largeWebM, "h200"},
		{"among gpu-composite workers the least loaded", []*worker{withChains(testWorker("a", 4, cuda, 3), "gpu-composite"),
			withChains(testWorker("b", 4, cuda, 1), "gpu-composite")}, largeWebM, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := map[string]*worker{}
			for _, w := range tt.workers {
				ws[w.id] = w
			}
			got := place(ws, tt.want, 0.7)
			if (got == nil && tt.placed != "") || (got != nil && got.id != tt.placed) {
				t.Fatalf("placed on %v, want %q", got, tt.placed)
			}
		})
	}
}

func TestWantsGPU(t *testing.T) {
	tests := []struct {
		spec string
		want gpuWant
	}{
		{`{"source":{"asset_id":"ast_1"}}`, gpuWant{h264: true}},
		{`{"source":{"asset_id":"ast_1"},"output":{"format":"webm"}}`, gpuWant{}},
		{`{"source":{"asset_id":"ast_1"},"output":{"format":"mp4","width":1920,"height":1080}}`, gpuWant{h264: true, large: true}},
		{`{"source":{"asset_id":"ast_1"},"output":{"format":"gif","width":3840,"height":2160}}`, gpuWant{large: true}},
		// A canvas has nothing to decode on the GPU, and a snapshot is a
		// one-frame window: both composite on the CPU however large.
		{`{"source":{"color":"#000","width":3840,"height":2160,"duration":5}}`, gpuWant{h264: true}},
		{`{"source":{"color":"#000","width":1280,"height":720,"duration":5},"output":{"height":1080}}`, gpuWant{h264: true}},
		{`{"source":{"asset_id":"ast_1"},"output":{"format":"png","width":3840,"height":2160}}`, gpuWant{}},
		{`{"source":{"asset_id":"ast_1"},"output":{"format":"jpg","width":1920,"height":1080,"time":3}}`, gpuWant{}},
		{`not json`, gpuWant{h264: true}}, // as before: an unreadable spec is taken for the default mp4
	}
	for _, tt := range tests {
		if got := wantsGPU([]byte(tt.spec)); got != tt.want {
			t.Errorf("wantsGPU(%s) = %+v, want %+v", tt.spec, got, tt.want)
		}
	}
}
