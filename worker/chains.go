package worker

import (
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/render"
)

// exportChains sets the worker's chain gauge on its /metrics: the CPU
// chain, and every GPU chain whose trial passed at start-up, so a
// dashboard shows which workers composite on the GPU without asking the
// scheduler (which learns the same from Register's gpu_chains).
func exportChains(id string, c render.Capabilities) {
	for _, ch := range append([]string{render.ChainCPU}, c.GPUChains...) {
		metrics.WorkerChains.WithLabelValues(id, ch).Set(1)
	}
}
