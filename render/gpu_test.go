package render

import (
	"context"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/reference"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/motion"
	"github.com/stickerd/stickerd/render/spec"
)

// referencePlan prepares the reference job as prepare would, without
// probing: the source and sticker files are described, not read. Text
// goes to drawtext, as on every machine before a GPU chain is chosen.
func referencePlan(t *testing.T, e *Engine, work string) (*plan, Job) {
	t.Helper()
	s, err := spec.Parse([]byte(reference.Spec), spec.ParseOptions{AllowPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	p := &plan{sourcePath: "/assets/source.mp4", format: "mp4", quality: "standard", workDir: work,
		source: media.Info{Kind: media.KindVideo, Container: "mov,mp4,m4a,3gp,3g2,mj2", Codec: "h264", Width: 1280, Height: 720,
			Duration: 10, FPS: 30, HasAudio: true, AudioChannels: 2, AudioLayout: "stereo", AudioCodec: "aac"},
		width: 1280, height: 720, fps: 30, duration: 10, audio: true}
	p.encoder = e.caps.chooseVideoEncoder(p.format)
	infos := []media.Info{
		{Kind: media.KindImage, Container: "png", Codec: "png", Width: 256, Height: 256, Frames: 1, HasAlpha: true},
		{Kind: media.KindAnimated, Container: "gif", Codec: "gif", Width: 256, Height: 256, Frames: 24, HasAlpha: true},
	}
	paths := []string{"/assets/heart.png", "/assets/confetti.gif"}
	for i, st := range s.Stickers {
		l := layer{index: i, loop: st.Loops(), start: 0, end: p.duration}
		if st.Type == spec.TypeText {
			if !plainText(st) {
				t.Fatal("the reference text is not drawtext's")
			}
			if l.draw, err = e.prepareDrawText(p, st, i); err != nil {
				t.Fatal(err)
			}
			l.props = motion.Build(st, 0, l.end-l.start)
		} else {
			l.path, l.info = paths[i], infos[i]
			l.props = motion.Build(st, float64(l.info.Width)/float64(p.width), l.end-l.start)
		}
		p.layers = append(p.layers, l)
	}
	return p, Job{Spec: s, Resolver: FileResolver{Dir: "/assets"}}
}

// gpuStates are the capability states the engine tells apart, as
// detection leaves them.
var gpuStates = []struct {
	name    string
	caps    Capabilities
	chain   string // the reference job's
	encoder string
	why     string // in the chain reason
}{
	{"none", Capabilities{GPU: GPUNone, GPUDetail: "nvidia-smi not found"},
		ChainCPU, "libx264", "no usable GPU (nvidia-smi not found)"},
	{"broken-driver", Capabilities{GPU: GPUBroken, GPUDetail: "nvidia-smi failed: exit status 9"},
		ChainCPU, "libx264", "no usable GPU"},
	{"cuda-no-nvenc", Capabilities{GPU: GPUCUDAOnly, GPUName: "NVIDIA H200", GPUDetail: "driver 550.54.15; ffmpeg has no h264_nvenc",
		GPUChains: []string{ChainGPUComposite}, GPUChainDetail: "gpu-composite trial succeeded"},
		ChainGPUComposite, "libx264", "each frame downloaded once for libx264"},
	{"cuda-nvenc", Capabilities{GPU: GPUCUDANVENC, GPUName: "NVIDIA L4", GPUDetail: "driver 550.54.15; NVENC trial encode succeeded",
		GPUChains: []string{ChainGPUCompositeNVENC, ChainGPUComposite}, GPUChainDetail: "gpu-composite+nvenc trial succeeded; gpu-composite trial succeeded"},
		ChainGPUCompositeNVENC, "h264_nvenc", "NVENC encodes the CUDA frames"},
	{"cuda-trial-failed", Capabilities{GPU: GPUCUDAOnly, GPUName: "NVIDIA H100 80GB HBM3", GPUDetail: "driver 550.54.15",
		GPUChainDetail: "gpu-composite trial failed: Cannot load libcuda.so.1"},
		ChainCPU, "libx264", "no GPU chain passed its trial (gpu-composite trial failed: Cannot load libcuda.so.1)"},
	{"cuda-nvenc-trial-failed", Capabilities{GPU: GPUCUDANVENC, GPUName: "NVIDIA L4", GPUDetail: "driver 550.54.15; NVENC trial encode succeeded",
		GPUChainDetail: "gpu-composite+nvenc trial failed: Impossible to convert between the formats; gpu-composite trial failed: Impossible to convert between the formats"},
		ChainCPU, "h264_nvenc", "no GPU chain passed its trial"},
}

// TestGPUChain_Golden pins the exact ffmpeg arguments of the reference job
// in each capability state (go test ./render -run TestGPUChain_Golden
// -update rewrites them).
func TestGPUChain_Golden(t *testing.T) {
	for _, st := range gpuStates {
		t.Run(st.name, func(t *testing.T) {
			e := &Engine{cfg: testEngine.cfg, caps: withFilters(st.caps), prober: testEngine.prober}
			work := t.TempDir()
			p, job := referencePlan(t, e, work)
			run := p
			g, why := e.gpuPlan(context.Background(), job, p)
			if g != nil {
				run = g
			} else {
				run.encoder.Chain, run.encoder.ChainReason = ChainCPU, why
			}
			if run.encoder.Chain != st.chain || run.encoder.Name != st.encoder || !strings.Contains(run.encoder.ChainReason, st.why) {
				t.Fatalf("encoder %+v, want %s on %s because %q", run.encoder, st.encoder, st.chain, st.why)
			}
			rs, err := initialRate(run)
			if err != nil {
				t.Fatal(err)
			}
			args, err := compile(run, rs, "/out/result.partial")
			if err != nil {
				t.Fatal(err)
			}
			got := strings.NewReplacer(work, "/work", testEngine.cfg.CacheDir, "/cache").Replace(strings.Join(args, "\n")) + "\n"
			golden := filepath.Join("testdata", "gpu", st.name+".args")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./render -run TestGPUChain_Golden -update)", err)
			}
			if got != string(want) {
				t.Errorf("arguments differ from %s:\n got: %s\nwant: %s", golden, got, want)
			}
			gpuArgs := strings.Contains(got, "overlay_cuda")
			if gpuArgs != (st.chain != ChainCPU) || strings.Contains(got, "drawtext") == gpuArgs {
				t.Fatalf("chain %s but overlay_cuda %v, drawtext %v", st.chain, gpuArgs, strings.Contains(got, "drawtext"))
			}
		})
	}
}

// withFilters gives fake capabilities the build of this machine's ffmpeg
// (Debian's 5.1 has the CUDA filters).
func withFilters(c Capabilities) Capabilities {
	c.FFmpegVersion = "5.1"
	c.Encoders = map[string]bool{"libx264": true, "h264_nvenc": c.GPU == GPUCUDANVENC, "libvpx-vp9": true, "libwebp_anim": true}
	c.Filters = map[string]bool{"overlay": true, "scale_cuda": true, "overlay_cuda": true, "hwupload": true, "hwdownload": true}
	return c
}

// TestGPURefusal lists what keeps a job on the CPU on a machine whose GPU
// chains passed.
func TestGPURefusal(t *testing.T) {
	e := &Engine{cfg: testEngine.cfg, caps: withFilters(gpuStates[2].caps), prober: testEngine.prober}
	tests := []struct {
		name string
		edit func(p *plan)
		why  string
	}{
		{"reference", func(*plan) {}, ""},
		{"part", func(p *plan) { p.window = &partWindow{} }, "a part of a planned render"},
		{"canvas", func(p *plan) { p.canvas = &spec.Source{Color: "#000000"} }, "blank canvas"},
		{"alpha", func(p *plan) { p.alpha = true }, "alpha channel"},
		{"rotated phone video", func(p *plan) { p.source.Rotation = 90 }, "display rotation"},
		{"mpeg4 source", func(p *plan) { p.source.Codec = "mpeg4" }, `"mpeg4" sources`},
		{"small output", func(p *plan) { p.width, p.height = 640, 360 }, "640x360 output"},
		{"another shape", func(p *plan) { p.width, p.height = 1280, 1280 }, "no CUDA pad"},
		{"growing sticker", func(p *plan) { p.layers[0].props.Width = motion.Track{{T: 0, V: 0.1}, {T: 1, V: 0.3}} }, "stickers[0] changes size"},
		{"hevc 4k", func(p *plan) {
			p.source.Codec, p.source.Width, p.source.Height, p.width, p.height = "hevc", 3840, 2160, 3840, 2160
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := referencePlan(t, e, t.TempDir())
			tt.edit(p)
			chain, why := e.caps.gpuChainFor(p)
			if tt.why == "" && chain != ChainGPUComposite {
				t.Fatalf("chain %s (%s), want %s", chain, why, ChainGPUComposite)
			}
			if tt.why != "" && (chain != ChainCPU || !strings.Contains(why, tt.why)) {
				t.Fatalf("chain %s because %q, want the CPU because %q", chain, why, tt.why)
			}
		})
	}
}

// fakeGPUFFmpegScript is an ffmpeg 5.1 with the CUDA filters. Its trial
// runs succeed as the variables set before it say: COMPOSITE_OK for the
// download chain, NVENC_CHAIN_OK for NVENC on CUDA frames, NVENC_OK for
// the plain NVENC trial encode. Every run's arguments go to $LOG.
const fakeGPUFFmpegScript = `
[ -n "$LOG" ] && echo "$*" >> "$LOG"
case "$*" in
*-version*) echo "ffmpeg version 5.1.9-0+deb12u1 Copyright";;
*-encoders*) printf 'Encoders:\n ------\n V....D libx264   libx264 H.264\n V....D h264_nvenc  NVIDIA NVENC\n';;
*-filters*) printf 'Filters:\n ... scale_cuda  V->V  x\n ... overlay_cuda  VV->V  x\n ... hwupload  V->V  x\n ... hwdownload  V->V  x\n TSC overlay  VV->V  x\n';;
*overlay_cuda*h264_nvenc*) [ -n "$NVENC_CHAIN_OK" ] || { echo "[h264_nvenc @ 0x1] OpenEncodeSessionEx failed: unsupported device (2): (no details)" >&2; exit 1; };;
*overlay_cuda*) [ -n "$COMPOSITE_OK" ] || { echo "[AVHWDeviceContext @ 0x1] cu->cuInit(0) failed -> CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected" >&2; exit 1; };;
*h264_nvenc*) [ -n "$NVENC_OK" ] || { echo "OpenEncodeSessionEx failed: unsupported device (2): (no details)" >&2; exit 1; };;
esac
`

// TestDetectCapabilities_GPUChainTrial drives detection with fake binaries
// through every state: which chains pass, what the reference job then
// runs on, and that a failed trial leaves the CPU chain with its reason.
func TestDetectCapabilities_GPUChainTrial(t *testing.T) {
	tests := []struct {
		name    string
		smi     string // "" = absent
		vars    string // set before the fake ffmpeg's script
		state   GPUState
		chains  []string
		detail  string // in GPUChainDetail
		chain   string // the reference job's
		encoder string
		trials  int // runs with overlay_cuda
	}{
		{"no GPU", "", "COMPOSITE_OK=1 NVENC_CHAIN_OK=1", GPUNone, nil, "", ChainCPU, "libx264", 0},
		{"broken driver", `echo "NVIDIA-SMI has failed" >&2; exit 9`, "COMPOSITE_OK=1", GPUBroken, nil, "", ChainCPU, "libx264", 0},
		{"H200: CUDA without NVENC", `echo "NVIDIA H200, 550.54.15"`, "COMPOSITE_OK=1", GPUCUDAOnly,
			[]string{ChainGPUComposite}, "gpu-composite trial succeeded", ChainGPUComposite, "libx264", 1},
		{"L4: CUDA with NVENC", `echo "NVIDIA L4, 550.54.15"`, "NVENC_OK=1 COMPOSITE_OK=1 NVENC_CHAIN_OK=1", GPUCUDANVENC,
			[]string{ChainGPUCompositeNVENC, ChainGPUComposite}, "gpu-composite+nvenc trial succeeded", ChainGPUCompositeNVENC, "h264_nvenc", 2},
		{"NVENC, but not from CUDA frames", `echo "NVIDIA L4, 550.54.15"`, "NVENC_OK=1 COMPOSITE_OK=1", GPUCUDANVENC,
			[]string{ChainGPUComposite}, "gpu-composite+nvenc trial failed: h264_nvenc: OpenEncodeSessionEx failed", ChainGPUComposite, "h264_nvenc", 2},
		{"trial fails", `echo "NVIDIA H100 80GB HBM3, 550.54.15"`, "", GPUCUDAOnly,
			nil, "gpu-composite trial failed: AVHWDeviceContext: cu->cuInit(0) failed", ChainCPU, "libx264", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "ffmpeg.log")
			cfg := DefaultConfig()
			vars := "LOG=" + log + "\n"
			for _, v := range strings.Fields(tt.vars) {
				vars += v + "\n"
			}
			cfg.FFmpeg = fakeBin(t, dir, "ffmpeg", vars+fakeGPUFFmpegScript)
			cfg.NvidiaSMI = filepath.Join(dir, "nvidia-smi")
			if tt.smi != "" {
				fakeBin(t, dir, "nvidia-smi", tt.smi)
			}
			c := DetectCapabilities(context.Background(), cfg)
			if c.GPU != tt.state || strings.Join(c.GPUChains, ",") != strings.Join(tt.chains, ",") || !strings.Contains(c.GPUChainDetail, tt.detail) {
				t.Fatalf("state %s, chains %v (%s); want %s, %v (%q)", c.GPU, c.GPUChains, c.GPUChainDetail, tt.state, tt.chains, tt.detail)
			}
			b, _ := os.ReadFile(log)
			var trials []string
			for _, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, "overlay_cuda") {
					trials = append(trials, line)
				}
			}
			if len(trials) != tt.trials {
				t.Fatalf("%d trial runs, want %d:\n%s", len(trials), tt.trials, b)
			}
			for _, tr := range trials {
				// The trial is the compiler's own chain: NVDEC into CUDA
				// frames, scale_cuda, an uploaded sticker, overlay_cuda.
				for _, want := range []string{"-init_hw_device cuda=gpu -filter_hw_device gpu", "-hwaccel cuda -hwaccel_device gpu -hwaccel_output_format cuda",
					"scale_cuda=format=yuv420p:h=192:interp_algo=bicubic:w=256", "hwupload", "overlay_cuda=eof_action=repeat:x="} {
					if !strings.Contains(tr, want) {
						t.Fatalf("trial %q lacks %q", tr, want)
					}
				}
			}
			e := &Engine{cfg: testEngine.cfg, caps: c, prober: testEngine.prober}
			p, job := referencePlan(t, e, t.TempDir())
			chain, encoder := ChainCPU, p.encoder.Name
			if g, _ := e.gpuPlan(context.Background(), job, p); g != nil {
				chain, encoder = g.chain, g.encoder.Name
			}
			if chain != tt.chain || encoder != tt.encoder {
				t.Fatalf("reference job on %s with %s, want %s with %s", chain, encoder, tt.chain, tt.encoder)
			}
		})
	}
}

// TestEngine_GPUChainFailureFallsBackToCPU renders on this machine (real
// ffmpeg, no CUDA device) with capabilities that claim a passed trial: the
// GPU run fails, and the job is rendered again on the CPU, saying why.
func TestEngine_GPUChainFailureFallsBackToCPU(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.video("source.mp4", "testsrc2=size=1280x720:rate=30:duration=1", true)
	f.png("sticker.png", 64, 64, color.NRGBA{R: 255, A: 200})
	e := *testEngine
	e.caps = withFilters(gpuStates[2].caps) // an H200 whose composite trial passed
	s, err := spec.Parse([]byte(`{"source":{"path":"source.mp4"},"stickers":[
		{"type":"image","path":"sticker.png","x":0.5,"y":0.5},
		{"type":"text","text":"Hello","font":"sans","y":0.8}]}`), spec.ParseOptions{AllowPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Render(context.Background(), Job{Spec: s, Resolver: FileResolver{Dir: f.dir}, Output: filepath.Join(f.dir, "out.mp4")})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if res.Encoder.Chain != ChainCPU || !strings.Contains(res.Encoder.ChainReason, "the gpu-composite chain failed (") ||
		!strings.Contains(res.Encoder.ChainReason, "rendered again on the CPU") {
		t.Fatalf("encoder %+v", res.Encoder)
	}
	if res.Width != 1280 || res.Height != 720 || res.Duration < 0.9 || !res.HasAudio {
		t.Fatalf("result %+v", res)
	}
	if strings.Contains(strings.Join(res.Args, " "), "cuda") {
		t.Fatalf("the CPU run's arguments name CUDA: %v", res.Args)
	}
	t.Logf("chain reason: %s", res.Encoder.ChainReason)
}

// TestNew_CapabilityCacheGPUChains: the chains' trial is remembered with
// the working GPU, so a New within the TTL starts no trial.
func TestNew_CapabilityCacheGPUChains(t *testing.T) {
	f := newFakeTools(t)
	f.setFFmpeg("COMPOSITE_OK=1\n" + fakeGPUFFmpegScript)
	f.setSMI(`echo "NVIDIA H200, 550.54.15"`)
	c := f.newEngine().Capabilities()
	if c.GPU != GPUCUDAOnly || !c.HasChain(ChainGPUComposite) || c.HasChain(ChainGPUCompositeNVENC) {
		t.Fatalf("first New: %s %v (%s)", c.GPU, c.GPUChains, c.GPUChainDetail)
	}
	ff := runs(t, f.ffLog)
	if ff != 5 { // version, encoders, filters, the NVENC trial, the composite trial
		t.Fatalf("first New ran ffmpeg %d times, want 5", ff)
	}
	c = f.newEngine().Capabilities()
	if !c.HasChain(ChainGPUComposite) || c.GPUChainDetail != "gpu-composite trial succeeded" || runs(t, f.ffLog) != ff {
		t.Fatalf("cached New: chains %v (%s), %d more ffmpeg runs", c.GPUChains, c.GPUChainDetail, runs(t, f.ffLog)-ff)
	}
	f.ageGPUEntry(gpuCacheTTL + time.Minute)
	f.newEngine()
	if n := runs(t, f.ffLog) - ff; n != 2 {
		t.Fatalf("after the TTL ffmpeg ran %d more times, want 2 (both trials)", n)
	}
}
