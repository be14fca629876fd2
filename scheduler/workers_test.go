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

func TestPlace(t *testing.T) {
	cpu := workerpb.GPUState_GPU_STATE_NONE
	nvenc := workerpb.GPUState_GPU_STATE_CUDA_NVENC
	tests := []struct {
		name     string
		workers  []*worker
		wantsGPU bool
		want     string
	}{
		{"none", nil, false, ""},
		{"least loaded", []*worker{testWorker("a", 4, cpu, 3), testWorker("b", 4, cpu, 1)}, false, "b"},
		{"full is skipped", []*worker{testWorker("a", 2, cpu, 2)}, false, ""},
		{"gpu preferred for h264", []*worker{testWorker("cpu", 8, cpu, 0), testWorker("gpu", 4, nvenc, 2)}, true, "gpu"},
		{"gpu not preferred otherwise", []*worker{testWorker("cpu", 8, cpu, 0), testWorker("gpu", 4, nvenc, 2)}, false, "cpu"},
		{"draining is skipped", func() []*worker { w := testWorker("a", 4, cpu, 0); w.draining = true; return []*worker{w} }(), false, ""},
		{"busy over target is skipped", func() []*worker { w := testWorker("a", 4, cpu, 1); w.cpu = 0.9; return []*worker{w} }(), false, ""},
		{"idle over target still gets one", func() []*worker { w := testWorker("a", 4, cpu, 0); w.cpu = 0.9; return []*worker{w} }(), false, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := map[string]*worker{}
			for _, w := range tt.workers {
				ws[w.id] = w
			}
			got := place(ws, tt.wantsGPU, 0.7)
			if (got == nil && tt.want != "") || (got != nil && got.id != tt.want) {
				t.Fatalf("placed on %v, want %q", got, tt.want)
			}
		})
	}
}
