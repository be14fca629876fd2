package render

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// GPUState tells apart the cases the engine must handle differently.
type GPUState string

// GPU states.
const (
	GPUNone      GPUState = "none"       // no NVIDIA GPU (or nvidia-smi absent)
	GPUBroken    GPUState = "broken"     // nvidia-smi present but failing: driver trouble
	GPUCUDAOnly  GPUState = "cuda"       // CUDA works, NVENC does not (H100/H200, or ffmpeg without nvenc)
	GPUCUDANVENC GPUState = "cuda+nvenc" // CUDA and a working NVENC encoder
)

// Capabilities is what the ffmpeg build and the machine can do, probed once.
type Capabilities struct {
	FFmpegVersion string          `json:"ffmpeg_version"`
	Encoders      map[string]bool `json:"-"`
	Filters       map[string]bool `json:"-"`
	GPU           GPUState        `json:"gpu"`
	GPUName       string          `json:"gpu_name,omitempty"`
	GPUDetail     string          `json:"gpu_detail,omitempty"` // why the GPU state is what it is
	// GPUChains are the GPU chains (ChainGPUComposite…) whose one-frame
	// trial succeeded here, best first; GPUChainDetail says what was
	// tried and why a chain failed (gpu.go).
	GPUChains      []string `json:"gpu_chains,omitempty"`
	GPUChainDetail string   `json:"gpu_chain_detail,omitempty"`
}

// Has reports whether the build has the encoder.
func (c Capabilities) Has(encoder string) bool { return c.Encoders[encoder] }

// DetectCapabilities asks ffmpeg for its version, encoders and filters, and
// nvidia-smi for a GPU; with a GPU it proves NVENC by a one-frame encode,
// since data-centre GPUs (H100, H200) have CUDA but no NVENC.
func DetectCapabilities(ctx context.Context, cfg Config) Capabilities {
	c := probeFFmpeg(ctx, cfg.FFmpeg)
	if cfg.DisableGPU {
		c.GPUDetail = "GPU disabled by configuration"
		return c
	}
	c.GPU, c.GPUName, c.GPUDetail = detectGPU(ctx, cfg, c)
	c.GPUChains, c.GPUChainDetail = trialGPUChains(ctx, cfg, c)
	return c
}

// probeFFmpeg asks ffmpeg for its version, encoders and filters, the three
// at once: each is a process start of tens of milliseconds.
func probeFFmpeg(ctx context.Context, ffmpeg string) Capabilities {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := Capabilities{GPU: GPUNone}
	var wg sync.WaitGroup
	wg.Go(func() {
		if out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-version").Output(); err == nil {
			line, _, _ := strings.Cut(string(out), "\n")
			v := strings.TrimPrefix(line, "ffmpeg version ")
			c.FFmpegVersion, _, _ = strings.Cut(v, " ")
		}
	})
	wg.Go(func() { c.Encoders = listNames(ctx, ffmpeg, "-encoders") })
	wg.Go(func() { c.Filters = listNames(ctx, ffmpeg, "-filters") })
	wg.Wait()
	return c
}

// listNames parses the second column of `ffmpeg -encoders` / `-filters`.
func listNames(ctx context.Context, ffmpeg, flag string) map[string]bool {
	names := map[string]bool{}
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", flag).Output()
	if err != nil {
		return names
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	body := false // -encoders lists its rows after a "------" line
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case flag == "-filters" && len(f) >= 3 && strings.Contains(f[2], "->"):
			names[f[1]] = true
		case flag == "-encoders" && body && len(f) >= 2:
			names[f[1]] = true
		case len(f) == 1 && f[0] == "------":
			body = true
		}
	}
	return names
}

func detectGPU(ctx context.Context, cfg Config, c Capabilities) (GPUState, string, string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	smi, err := exec.LookPath(cfg.NvidiaSMI)
	if err != nil {
		return GPUNone, "", "nvidia-smi not found"
	}
	out, err := exec.CommandContext(ctx, smi, "--query-gpu=name,driver_version", "--format=csv,noheader").Output()
	if err != nil {
		return GPUBroken, "", "nvidia-smi failed: " + err.Error()
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return GPUNone, "", "nvidia-smi lists no GPU"
	}
	name, driver, _ := strings.Cut(line, ",")
	name = strings.TrimSpace(name)
	detail := "driver " + strings.TrimSpace(driver)
	if !c.Has("h264_nvenc") {
		return GPUCUDAOnly, name, detail + "; ffmpeg has no h264_nvenc"
	}
	trial := exec.CommandContext(ctx, cfg.FFmpeg, "-hide_banner", "-v", "error", "-f", "lavfi",
		"-i", "color=c=black:s=256x256:d=0.1", "-frames:v", "1", "-c:v", "h264_nvenc", "-f", "null", "-")
	var stderr bytes.Buffer
	trial.Stderr = &stderr
	if err := trial.Run(); err != nil {
		return GPUCUDAOnly, name, detail + "; NVENC trial encode failed: " + lastLine(stderr.String())
	}
	return GPUCUDANVENC, name, detail + "; NVENC trial encode succeeded"
}

// EncoderChoice is the encoder a job uses and why, for the caller to show.
type EncoderChoice struct {
	Name     string `json:"name"`
	Hardware bool   `json:"hardware"`
	Reason   string `json:"reason"`
	// Chain is where a whole render's frames were decoded and composited
	// (ChainCPU or a GPU chain), and ChainReason why; empty for the parts
	// of a smart or split plan, which are composited on the CPU.
	Chain       string `json:"chain,omitempty"`
	ChainReason string `json:"chain_reason,omitempty"`
}

// chooseVideoEncoder picks the encoder for an output format.
func (c Capabilities) chooseVideoEncoder(format string) EncoderChoice {
	switch format {
	case "webm":
		return EncoderChoice{Name: "libvpx-vp9", Reason: "webm is VP9; no hardware VP9 encoder is used"}
	case "gif":
		return EncoderChoice{Name: "gif", Reason: "gif output"}
	case "webp":
		return EncoderChoice{Name: "libwebp_anim", Reason: "animated webp output"}
	case "png":
		return EncoderChoice{Name: "png", Reason: "png snapshot: one frame"}
	case "jpg":
		return EncoderChoice{Name: "mjpeg", Reason: "jpg snapshot: one frame"}
	}
	switch c.GPU {
	case GPUCUDANVENC:
		return EncoderChoice{Name: "h264_nvenc", Hardware: true, Reason: "NVENC available on " + c.GPUName}
	case GPUCUDAOnly:
		return EncoderChoice{Name: "libx264", Reason: c.GPUName + " has CUDA but no usable NVENC (" + c.GPUDetail + ")"}
	case GPUBroken:
		return EncoderChoice{Name: "libx264", Reason: "GPU unusable: " + c.GPUDetail}
	}
	reason := "no NVIDIA GPU"
	if c.GPUDetail != "" {
		reason += " (" + c.GPUDetail + ")"
	}
	return EncoderChoice{Name: "libx264", Reason: reason}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
