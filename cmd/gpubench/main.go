// Command gpubench measures the render engine's GPU chain against its CPU
// chain on the machine it runs on, with renderbench's reference job (a
// 10 s 1280×720 source, a keyframed PNG, a looping GIF and stroked text,
// to mp4):
//
//   - side by side: each chain renders the job -runs times, alternating;
//     wall time, realtime factor, CPU time, and the GPU render's pixel
//     difference to the CPU render (PSNR, mean absolute difference and the
//     worst 16×16 block, on one frame a second), within tolerance or not;
//   - a concurrency sweep per chain: 1, 2, 4, 8 … renders at once, until
//     throughput (video seconds rendered per wall second) stops rising by
//     -rise, with the machine's CPU utilisation and, where nvidia-smi runs,
//     GPU, encoder and decoder utilisation.
//
// Where no GPU chain passed its start-up trial (any machine without an
// NVIDIA GPU) it says why and measures the CPU chain alone. It writes
// results.json and results.md into -out after every stage, so a run that
// is cut short keeps what it measured. scripts/device/run.sh runs it on
// the GPU machine; docs/gpu.md says how.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/reference"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/spec"
)

// options are the command's flags.
type options struct {
	out, ffmpeg, ffprobe, smi string
	seconds                   float64
	runs, rounds, maxLevel    int
	threads                   int
	rise, minPSNR, maxBlock   float64
	sampleFPS                 float64
	budget                    time.Duration
	noSweep                   bool
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", ".", "folder for results.json and results.md")
	flag.StringVar(&o.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary")
	flag.StringVar(&o.ffprobe, "ffprobe", "ffprobe", "ffprobe binary")
	flag.StringVar(&o.smi, "nvidia-smi", "nvidia-smi", "nvidia-smi binary (GPU detection and utilisation)")
	flag.Float64Var(&o.seconds, "seconds", 10, "length of the reference source")
	flag.IntVar(&o.runs, "runs", 3, "side-by-side runs of each chain")
	flag.IntVar(&o.rounds, "rounds", 2, "renders each concurrent slot runs at one level of the sweep")
	flag.IntVar(&o.maxLevel, "max-concurrency", 64, "the sweep's highest level")
	flag.IntVar(&o.threads, "threads", 0, "ffmpeg threads per render (0: ffmpeg's choice)")
	flag.Float64Var(&o.rise, "rise", 0.05, "the sweep stops when a level raises throughput by less than this share")
	flag.Float64Var(&o.minPSNR, "min-psnr", 30, "tolerance: the GPU render's least PSNR against the CPU render (dB)")
	flag.Float64Var(&o.maxBlock, "max-block-diff", 48, "tolerance: the largest mean |difference| of a 16x16 block (0..255)")
	flag.Float64Var(&o.sampleFPS, "sample-fps", 1, "frames a second compared")
	flag.DurationVar(&o.budget, "budget", 8*time.Minute, "wall time after which the sweep stops where it is")
	flag.BoolVar(&o.noSweep, "no-sweep", false, "side by side only")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, o, os.Stdout)
	if rep != nil {
		if werr := rep.write(o.out); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpubench:", err)
		os.Exit(1)
	}
	if rep.Pixels != nil && !rep.Pixels.Within {
		fmt.Fprintln(os.Stderr, "gpubench: the GPU render is outside the pixel tolerance")
		os.Exit(3)
	}
}

// report is everything measured; written as JSON and as a table.
type report struct {
	Started    time.Time `json:"started"`
	FFmpeg     string    `json:"ffmpeg_version"`
	GPU        string    `json:"gpu"` // state and name
	GPUChains  []string  `json:"gpu_chains"`
	GPUDetail  string    `json:"gpu_detail"`
	GPUPath    bool      `json:"gpu_path"`              // the GPU chain was measured
	GPUMissing string    `json:"gpu_missing,omitempty"` // why not
	Seconds    float64   `json:"seconds"`
	Sides      []side    `json:"sides"`
	Pixels     *pixels   `json:"pixels,omitempty"`
	Sweeps     []sweep   `json:"sweeps,omitempty"`
	Budget     string    `json:"budget_note,omitempty"`
	started    time.Time
}

// side is one chain's side-by-side runs.
type side struct {
	Name        string    `json:"name"`
	Chain       string    `json:"chain"`
	ChainReason string    `json:"chain_reason"`
	Encoder     string    `json:"encoder"`
	Wall        []float64 `json:"wall_s"`
	CPU         []float64 `json:"cpu_s"` // ffmpeg's and this process's, user and system
	Realtime    float64   `json:"realtime_factor"`
	Bytes       int64     `json:"bytes"`
	output      string
}

// pixels is the GPU render's difference to the CPU render.
type pixels struct {
	pixelDiff
	MinPSNR  float64 `json:"min_psnr_db"`
	MaxBlock float64 `json:"max_block_diff"`
	Within   bool    `json:"within_tolerance"`
}

// sweep is one chain's concurrency sweep.
type sweep struct {
	Chain  string  `json:"chain"`
	Levels []level `json:"levels"`
	Peak   int     `json:"peak_concurrency"` // the level after which throughput stopped rising
	Note   string  `json:"note,omitempty"`
}

// level is one concurrency level of a sweep.
type level struct {
	Concurrency int       `json:"concurrency"`
	Renders     int       `json:"renders"`
	Wall        float64   `json:"wall_s"`
	Throughput  float64   `json:"video_s_per_s"` // video seconds rendered per wall second
	PerMinute   float64   `json:"renders_per_min"`
	CPUUtil     float64   `json:"cpu_util"` // the machine's, 0..1; -1 unknown
	GPU         *gpuUsage `json:"gpu,omitempty"`
	Chains      []string  `json:"chains"` // the chains the renders took (a GPU render that fell back says cpu)
}

func run(ctx context.Context, o options, w io.Writer) (*report, error) {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gpubench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &report{Started: time.Now().UTC(), Seconds: o.seconds, started: time.Now()}
	if _, err := reference.WriteInputs(ctx, o.ffmpeg, dir, o.seconds); err != nil {
		return nil, err
	}
	s, err := spec.Parse([]byte(reference.Spec), spec.ParseOptions{AllowPaths: true})
	if err != nil {
		return nil, err
	}
	newEngine := func(name string, disableGPU bool) (*render.Engine, error) {
		cfg := render.DefaultConfig()
		cfg.FFmpeg, cfg.FFprobe, cfg.NvidiaSMI = o.ffmpeg, o.ffprobe, o.smi
		cfg.WorkDir, cfg.CacheDir = filepath.Join(dir, name, "work"), filepath.Join(dir, name, "cache")
		cfg.DisableGPU, cfg.Threads = disableGPU, o.threads
		return render.New(ctx, cfg)
	}
	cpuEng, err := newEngine("cpu", true)
	if err != nil {
		return nil, err
	}
	gpuEng, err := newEngine("gpu", false)
	if err != nil {
		return nil, err
	}
	c := gpuEng.Capabilities()
	rep.FFmpeg, rep.GPUChains = c.FFmpegVersion, c.GPUChains
	rep.GPU = strings.TrimSpace(string(c.GPU) + " " + c.GPUName)
	rep.GPUDetail = strings.Trim(c.GPUDetail+"; "+c.GPUChainDetail, "; ")
	engines := []struct {
		name string
		eng  *render.Engine
	}{{"cpu", cpuEng}}
	if len(c.GPUChains) == 0 {
		rep.GPUMissing = "no GPU chain passed its start-up trial: " + rep.GPUDetail
		if rep.GPUDetail == "" {
			rep.GPUMissing = "no GPU chain passed its start-up trial"
		}
	} else {
		engines = append(engines, struct {
			name string
			eng  *render.Engine
		}{"gpu", gpuEng})
	}
	fmt.Fprintf(w, "gpubench: ffmpeg %s; GPU %s; chains passed: %v\n", rep.FFmpeg, rep.GPU, c.GPUChains)
	if rep.GPUMissing != "" {
		fmt.Fprintf(w, "GPU path unavailable: %s; measuring the CPU path alone\n", rep.GPUMissing)
	}

	// Side by side, alternating which chain goes first.
	render1 := func(eng *render.Engine, out string) (*render.Result, float64, float64, error) {
		c0, t0 := cpuSeconds(), time.Now()
		res, err := eng.Render(ctx, render.Job{Spec: s, Resolver: render.FileResolver{Dir: dir}, Output: out})
		return res, time.Since(t0).Seconds(), cpuSeconds() - c0, err
	}
	rep.Sides = make([]side, len(engines))
	for i := 0; i < o.runs; i++ {
		for n := range engines {
			k := (n + i) % len(engines)
			sd := &rep.Sides[k]
			sd.Name, sd.output = engines[k].name, filepath.Join(dir, engines[k].name+".mp4")
			res, wall, cpu, err := render1(engines[k].eng, sd.output)
			if err != nil {
				return rep, fmt.Errorf("%s render: %w", sd.Name, err)
			}
			sd.Chain, sd.ChainReason, sd.Encoder, sd.Bytes = res.Encoder.Chain, res.Encoder.ChainReason, res.Encoder.Name, res.Bytes
			sd.Wall, sd.CPU = append(sd.Wall, wall), append(sd.CPU, cpu)
			sd.Realtime = o.seconds / median(sd.Wall)
			fmt.Fprintf(w, "run %d/%d %s: %.2f s on %s (%s)\n", i+1, o.runs, sd.Name, wall, sd.Chain, sd.Encoder)
		}
	}
	if len(rep.Sides) == 2 && rep.Sides[1].Chain == render.ChainCPU {
		// The trial passed but the job's GPU run failed and fell back:
		// what was timed is the CPU chain twice.
		rep.GPUMissing = "the GPU run fell back to the CPU: " + rep.Sides[1].ChainReason
		fmt.Fprintf(w, "GPU path unavailable: %s\n", rep.GPUMissing)
		engines, rep.Sides = engines[:1], rep.Sides[:1]
	}
	rep.GPUPath = len(engines) == 2
	if rep.GPUPath {
		d, err := compareRenders(ctx, o.ffmpeg, rep.Sides[1].output, rep.Sides[0].output, 1280, 720, o.sampleFPS)
		if err != nil {
			return rep, err
		}
		rep.Pixels = &pixels{pixelDiff: d, MinPSNR: o.minPSNR, MaxBlock: o.maxBlock, Within: d.within(o.minPSNR, o.maxBlock)}
		fmt.Fprintf(w, "pixels, GPU against CPU: %s; within tolerance (PSNR >= %g dB, block <= %g): %v\n", d, o.minPSNR, o.maxBlock, rep.Pixels.Within)
	}
	if err := rep.write(o.out); err != nil {
		return rep, err
	}

	if o.noSweep {
		rep.table(w)
		return rep, nil
	}
	deadline := rep.started.Add(o.budget)
	for _, e := range engines {
		sw, err := sweepChain(ctx, e.name, e.eng, s, dir, o, deadline, w)
		rep.Sweeps = append(rep.Sweeps, sw)
		if werr := rep.write(o.out); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			return rep, err
		}
	}
	rep.table(w)
	return rep, nil
}

// sweepChain renders at 1, 2, 4 … at once until throughput stops rising,
// -max-concurrency, or the deadline.
func sweepChain(ctx context.Context, name string, eng *render.Engine, s *spec.Spec, dir string, o options, deadline time.Time, w io.Writer) (sweep, error) {
	sw := sweep{Chain: name}
	best := 0.0
	for n := 1; n <= o.maxLevel; n *= 2 {
		if time.Now().After(deadline) {
			sw.Note = fmt.Sprintf("stopped by the time budget before %d at once", n)
			break
		}
		lv, err := runLevel(ctx, eng, s, dir, name, n, o)
		if err != nil {
			return sw, err
		}
		sw.Levels = append(sw.Levels, lv)
		gpu := "no GPU samples"
		if lv.GPU != nil {
			gpu = fmt.Sprintf("GPU %.0f%%, encoder %.0f%%, decoder %.0f%%, %.0f MiB", lv.GPU.GPU, lv.GPU.Encoder, lv.GPU.Decoder, lv.GPU.MemMiB)
		}
		fmt.Fprintf(w, "sweep %s x%d: %d renders in %.1f s, %.2f video s/s, CPU %.0f%%, %s, chains %v\n",
			name, n, lv.Renders, lv.Wall, lv.Throughput, lv.CPUUtil*100, gpu, lv.Chains)
		if lv.Throughput < best*(1+o.rise) {
			sw.Note = fmt.Sprintf("throughput stopped rising: %d at once gave %.2f video s/s against %.2f", n, lv.Throughput, best)
			break
		}
		best, sw.Peak = lv.Throughput, n
	}
	return sw, nil
}

// runLevel runs n slots at once, each rendering o.rounds jobs in turn.
func runLevel(ctx context.Context, eng *render.Engine, s *spec.Spec, dir, name string, n int, o options) (level, error) {
	lv := level{Concurrency: n, Renders: n * o.rounds}
	var mu sync.Mutex
	chains := map[string]bool{}
	var errs []error
	cpu, gpu := startCPU(), startGPU(ctx, o.smi)
	t0 := time.Now()
	var wg sync.WaitGroup
	for slot := range n {
		wg.Go(func() {
			for r := range o.rounds {
				out := filepath.Join(dir, fmt.Sprintf("sweep-%s-%d-%d.mp4", name, slot, r))
				res, err := eng.Render(ctx, render.Job{Spec: s, Resolver: render.FileResolver{Dir: dir}, Output: out})
				os.Remove(out)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					chains[res.Encoder.Chain] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	lv.Wall = time.Since(t0).Seconds()
	lv.CPUUtil, lv.GPU = cpu.stop(), gpu.stop()
	if err := errors.Join(errs...); err != nil {
		return lv, fmt.Errorf("%s, %d at once: %w", name, n, err)
	}
	lv.Throughput = float64(lv.Renders) * o.seconds / lv.Wall
	lv.PerMinute = float64(lv.Renders) * 60 / lv.Wall
	for c := range chains {
		lv.Chains = append(lv.Chains, c)
	}
	slices.Sort(lv.Chains)
	return lv, nil
}

// write saves the report as results.json and results.md.
func (r *report) write(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "results.md"))
	if err != nil {
		return err
	}
	r.table(f)
	return f.Close()
}

// table prints the report as Markdown.
func (r *report) table(w io.Writer) {
	fmt.Fprintf(w, "\n# gpubench, %s\n\nffmpeg %s; GPU %s; chains passed: %v\n", r.Started.Format(time.RFC3339), r.FFmpeg, r.GPU, r.GPUChains)
	if r.GPUDetail != "" {
		fmt.Fprintf(w, "\nGPU detail: %s\n", r.GPUDetail)
	}
	if r.GPUMissing != "" {
		fmt.Fprintf(w, "\n**GPU path unavailable:** %s\n", r.GPUMissing)
	}
	fmt.Fprintf(w, "\n## Reference render (%g s 1280x720, keyframed PNG, looping GIF, stroked text -> mp4)\n\n", r.Seconds)
	fmt.Fprintln(w, "| path | chain | encoder | median wall (s) | min (s) | realtime factor | median CPU (s) | bytes |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, s := range r.Sides {
		if len(s.Wall) == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.3f | %.3f | %.2fx | %.3f | %d |\n", s.Name, s.Chain, s.Encoder, median(s.Wall),
			slices.Min(s.Wall), s.Realtime, median(s.CPU), s.Bytes)
	}
	for _, s := range r.Sides {
		if s.ChainReason != "" {
			fmt.Fprintf(w, "\n- %s: %s", s.Name, s.ChainReason)
		}
	}
	fmt.Fprintln(w)
	if p := r.Pixels; p != nil {
		fmt.Fprintf(w, "\nPixels, GPU against CPU: %s. Tolerance PSNR >= %g dB and block <= %g: **%s**\n", p.pixelDiff, p.MinPSNR, p.MaxBlock, map[bool]string{true: "within", false: "OUTSIDE"}[p.Within])
	}
	for _, sw := range r.Sweeps {
		fmt.Fprintf(w, "\n## Concurrency sweep, %s path\n\n", sw.Chain)
		fmt.Fprintln(w, "| at once | renders | wall (s) | video s/s | renders/min | CPU util | GPU util | encoder | decoder | GPU mem (MiB) | chains |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
		for _, l := range sw.Levels {
			g := "| n/a | n/a | n/a | n/a"
			if l.GPU != nil {
				g = fmt.Sprintf("| %.0f%% | %.0f%% | %.0f%% | %.0f", l.GPU.GPU, l.GPU.Encoder, l.GPU.Decoder, l.GPU.MemMiB)
			}
			fmt.Fprintf(w, "| %d | %d | %.1f | %.2f | %.1f | %s %s | %s |\n", l.Concurrency, l.Renders, l.Wall, l.Throughput, l.PerMinute,
				pct(l.CPUUtil), g, strings.Join(l.Chains, ","))
		}
		fmt.Fprintf(w, "\nThroughput rises up to %d renders at once. %s\n", sw.Peak, sw.Note)
	}
}

func pct(f float64) string {
	if f < 0 {
		return "n/a"
	}
	return strconv.FormatFloat(f*100, 'f', 0, 64) + "%"
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
