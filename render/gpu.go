package render

import (
	"bytes"
	"context"
	_ "embed" // the trial's source video
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/motion"
	"github.com/stickerd/stickerd/render/spec"
)

// The GPU chains. A machine with CUDA can keep a render's big frames on
// the GPU: NVDEC decodes the source into CUDA frames, scale_cuda sizes
// them (and turns NVDEC's NV12 into the YUV 4:2:0 that overlay_cuda
// blends onto), and overlay_cuda draws each sticker, whose own small
// frames are prepared on the CPU as before and uploaded. Then either
// NVENC encodes the CUDA frames, or each finished frame is downloaded once
// for a CPU encoder (libx264 on an H100 or H200, which have no NVENC).
//
// A chain is used only after a one-frame trial of that exact chain (the
// compiler's own arguments for a small job) has run on this machine at
// start-up, so a driver, an ffmpeg build or a card that cannot run it
// leaves the engine on the CPU chain, with the trial's reason.
const (
	// ChainCPU decodes, composites and encodes on the CPU.
	ChainCPU = "cpu"
	// ChainGPUComposite decodes, scales and composites on the GPU and
	// downloads each finished frame once for the encoder.
	ChainGPUComposite = "gpu-composite"
	// ChainGPUCompositeNVENC is ChainGPUComposite with NVENC encoding the
	// CUDA frames: only the bitstream comes back to system memory.
	ChainGPUCompositeNVENC = "gpu-composite+nvenc"
)

// gpuChainFilters are the filters the GPU chains need from the ffmpeg
// build. Without one of them there is nothing to try.
var gpuChainFilters = []string{"scale_cuda", "overlay_cuda", "hwupload", "hwdownload"}

// gpuTrialMP4 is one 320×240 H.264 frame (yuv420p, made by libx264 with
// -fflags +bitexact), the input the trial decodes with NVDEC:
//
//	ffmpeg -f lavfi -i color=c=0x336699:s=320x240:r=30 -frames:v 1 -c:v libx264 -preset ultrafast \
//	  -pix_fmt yuv420p -movflags +faststart -map_metadata -1 -fflags +bitexact -flags:v +bitexact \
//	  -bsf:v filter_units=remove_types=6 gpu_trial.mp4
//
//go:embed gpu_trial.mp4
var gpuTrialMP4 []byte

// gpuTrialTimeout bounds one trial run; the first CUDA context on a
// machine can take seconds.
var gpuTrialTimeout = 30 * time.Second

// HasChain reports whether the chain passed its trial on this machine.
func (c Capabilities) HasChain(chain string) bool {
	for _, ch := range c.GPUChains {
		if ch == chain {
			return true
		}
	}
	return false
}

// trialGPUChains runs each GPU chain the machine might run on one frame
// and returns those that succeeded, in order of preference, and a detail
// that says what was tried and, for a chain that failed, why.
func trialGPUChains(ctx context.Context, cfg Config, c Capabilities) ([]string, string) {
	switch c.GPU {
	case GPUCUDAOnly, GPUCUDANVENC:
	default:
		return nil, "" // the GPU state says why
	}
	var missing []string
	for _, f := range gpuChainFilters {
		if !c.Filters[f] {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, "ffmpeg has no " + strings.Join(missing, ", ")
	}
	dir, err := os.MkdirTemp("", "stickerd-gpu-trial-") // 0700, this process's own
	if err != nil {
		return nil, "cannot write the GPU trial's files: " + err.Error()
	}
	defer os.RemoveAll(dir)
	if err := writeTrialInputs(dir); err != nil {
		return nil, "cannot write the GPU trial's files: " + err.Error()
	}
	var chains, notes []string
	try := []string{ChainGPUComposite}
	if c.GPU == GPUCUDANVENC {
		try = []string{ChainGPUCompositeNVENC, ChainGPUComposite}
	}
	for _, ch := range try {
		if why := runGPUTrial(ctx, cfg, dir, ch); why != "" {
			notes = append(notes, ch+" trial failed: "+why)
			continue
		}
		chains = append(chains, ch)
		notes = append(notes, ch+" trial succeeded")
	}
	return chains, strings.Join(notes, "; ")
}

// runGPUTrial compiles the trial job for chain with the engine's own
// compiler and runs it; "" when it succeeded, else ffmpeg's last line.
func runGPUTrial(ctx context.Context, cfg Config, dir, chain string) string {
	ctx, cancel := context.WithTimeout(ctx, gpuTrialTimeout)
	defer cancel()
	p, err := trialPlan(dir, chain)
	if err != nil {
		return err.Error()
	}
	rs, err := initialRate(p)
	if err != nil {
		return err.Error()
	}
	args, err := compile(p, rs, media.FileURL(filepath.Join(dir, "out-"+chain+".mp4")))
	if err != nil {
		return err.Error()
	}
	cmd := exec.CommandContext(ctx, cfg.FFmpeg, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if strings.TrimSpace(stderr.String()) != "" {
			return explainFailure(stderr.String())
		}
		return err.Error()
	}
	return ""
}

// trialSpec is the trial's sticker: moving (an x expression evaluated per
// frame) and turned (rotate makes its frame odd-sized, which the chain
// pads for the upload).
const trialSpec = `{"source":{"color":"#000000","width":320,"height":240,"duration":1},
 "stickers":[{"type":"image","path":"sticker.png","rotation":30,"y":0.4,
  "keyframes":[{"t":0,"x":0.3},{"t":1,"x":0.7}]}]}`

// trialPlan is a one-frame job through chain: the trial video scaled from
// 320×240 to 256×192 (scale_cuda and setsar), one 63×47 sticker
// uploaded and overlaid, encoded as the chain says.
func trialPlan(dir, chain string) (*plan, error) {
	s, err := spec.Parse([]byte(trialSpec), spec.ParseOptions{AllowPaths: true})
	if err != nil {
		return nil, err
	}
	const fps = 30.0
	p := &plan{sourcePath: filepath.Join(dir, "source.mp4"),
		source: media.Info{Kind: media.KindVideo, Container: "mov,mp4,m4a,3gp,3g2,mj2", Codec: "h264",
			Width: 320, Height: 240, Duration: 1 / fps, FPS: fps, Frames: 1},
		width: 256, height: 192, fps: fps, duration: 1 / fps, format: spec.FormatMP4, quality: "draft",
		workDir: dir, chain: chain, encoder: EncoderChoice{Name: "libx264", Chain: chain}}
	if chain == ChainGPUCompositeNVENC {
		p.encoder.Name, p.encoder.Hardware = "h264_nvenc", true
	}
	l := layer{path: filepath.Join(dir, "sticker.png"), start: 0, end: p.duration,
		info: media.Info{Kind: media.KindImage, Container: "png", Codec: "png", Width: 63, Height: 47, Frames: 1, HasAlpha: true}}
	l.props = motion.Build(s.Stickers[0], float64(l.info.Width)/float64(p.width), l.end-l.start)
	p.layers = []layer{l}
	return p, nil
}

// writeTrialInputs writes the trial's source video and sticker into dir.
func writeTrialInputs(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "source.mp4"), gpuTrialMP4, 0o600); err != nil {
		return err
	}
	img := image.NewNRGBA(image.Rect(0, 0, 63, 47))
	for y := 0; y < 47; y++ {
		for x := 0; x < 63; x++ {
			img.SetNRGBA(x, y, color.NRGBA{R: 230, G: 40, B: 60, A: uint8(128 + x)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sticker.png"), b.Bytes(), 0o600)
}
