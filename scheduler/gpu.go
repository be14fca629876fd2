package scheduler

import (
	"encoding/json"
	"strings"
)

// largeOutputPixels is the output size from which a job goes to a worker
// that composites on the GPU first: at 1080p and above the CPU's
// compositing and scaling, not the encoder, bound a render.
const largeOutputPixels = 1920 * 1080

// gpuWant is what a job would gain from a GPU worker.
type gpuWant struct {
	h264  bool // H.264 output: an NVENC worker encodes it
	large bool // at least largeOutputPixels: a GPU-composite worker composites it
}

// wantsGPU reads what a job would gain from a GPU from its spec. Only a
// decoded source composites on the GPU: a canvas (nothing to decode) and
// a snapshot (a one-frame window) composite on the CPU however large, as
// the engine's gpuRefusal decides. A source's size is known here when the
// spec gives the output's; an uploaded video's own size is not (the worker
// probes it), so such a job without an output size is placed by its
// encoder alone.
func wantsGPU(spec json.RawMessage) gpuWant {
	var s struct {
		Source struct {
			Color  string `json:"color"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
		} `json:"source"`
		Output struct {
			Format string `json:"format"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
		} `json:"output"`
	}
	_ = json.Unmarshal(spec, &s)
	w, h := s.Output.Width, s.Output.Height
	switch {
	case w > 0 && h > 0:
	case w > 0 && s.Source.Width > 0: // the other side follows the source's shape
		h = w * s.Source.Height / s.Source.Width
	case h > 0 && s.Source.Height > 0:
		w = h * s.Source.Width / s.Source.Height
	case w == 0 && h == 0:
		w, h = s.Source.Width, s.Source.Height
	}
	composites := s.Source.Color == "" && s.Output.Format != "png" && s.Output.Format != "jpg"
	return gpuWant{h264: s.Output.Format == "" || s.Output.Format == "mp4", large: composites && w*h >= largeOutputPixels}
}

// hasComposite reports whether the worker composites on the GPU: one of
// its GPU chains passed its start-up trial.
func (w *worker) hasComposite() bool {
	for _, c := range w.caps.GetGpuChains() {
		if strings.HasPrefix(c, "gpu-composite") {
			return true
		}
	}
	return false
}

// gpuBetter orders two workers for a job by what their GPUs give it:
// NVENC first for H.264, then GPU compositing for a large output; ok is
// false when neither matters.
func gpuBetter(want gpuWant, a, b *worker) (better, ok bool) {
	if want.h264 && a.hasNVENC() != b.hasNVENC() {
		return a.hasNVENC(), true
	}
	if want.large && a.hasComposite() != b.hasComposite() {
		return a.hasComposite(), true
	}
	return false, false
}
