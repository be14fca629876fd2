package scheduler

import (
	"math/rand/v2"
	"sort"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// worker is the scheduler's view of one connected worker.
type worker struct {
	id       string
	caps     *workerpb.Capabilities
	running  map[jobs.ID]int64 // job → fence; 0 while the assignment is being written
	cpu, gpu float64           // utilisation from the last heartbeat
	nvencUse int32
	draining bool
	send     chan *workerpb.SchedulerMessage
	timer    clock.Timer
	closed   chan struct{} // closed when the worker is dropped
}

func (w *worker) concurrency() int { return max(1, int(w.caps.GetConcurrency())) }

func (w *worker) free() int { return w.concurrency() - len(w.running) }

func (w *worker) hasNVENC() bool {
	return w.caps.GetGpuState() == workerpb.GPUState_GPU_STATE_CUDA_NVENC &&
		w.caps.GetNvencSessionsFree()-w.nvencUse > 0
}

// load is the fraction of the worker's slots in use.
func (w *worker) load() float64 { return float64(len(w.running)) / float64(w.concurrency()) }

// eligible reports whether the worker may take another job: it has a free
// slot, it is not draining, and, when it is already busy, its reported
// utilisation is under the target.
func (w *worker) eligible(target float64) bool {
	if w.draining || w.free() <= 0 {
		return false
	}
	if len(w.running) == 0 {
		return true
	}
	return w.cpu < target && (w.caps.GetGpuState() != workerpb.GPUState_GPU_STATE_CUDA_NVENC || w.gpu < target)
}

// place picks the worker for a job: among the eligible, GPU workers with a
// free NVENC session first when the output benefits from it (H.264), then
// workers that composite on the GPU for a large output (gpu.go), then the
// least loaded, ties broken at random so equal workers share the work.
func place(ws map[string]*worker, want gpuWant, target float64) *worker {
	var cands []*worker
	for _, w := range ws {
		if w.eligible(target) {
			cands = append(cands, w)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if better, ok := gpuBetter(want, a, b); ok {
			return better
		}
		return a.load() < b.load()
	})
	return cands[0]
}
