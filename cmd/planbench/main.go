// Command planbench measures the render planner's two ways of doing less
// or doing it wider (issue 15), each beside its baseline in the same run:
//
//   - smart: a 60 s 1920×1080 30 fps H.264 + AAC source (2 s GOPs) with
//     one 3 s image sticker, rendered smart (only the GOPs the sticker
//     touches are encoded, the rest copied) and rendered full
//     (render_mode full). It reports the wall-time ratio (target ≤ 0.2)
//     and checks, from decoded frame checksums, that every frame outside
//     the encoded runs is the source's, bit for bit.
//   - split: a 120 s 1280×720 source with stickers throughout, ffmpeg
//     limited to one thread: two parts rendered concurrently by two
//     in-process workers and stitched, against one whole render (target
//     ≥ 1.8× faster), with the plan and the stitch timed on their own.
//   - model: from the split job's measured costs, the modelled wall time
//     of a 10-minute 1080p render on 1, 8, 32 and 128 workers, and where
//     it stops scaling (the plan, the source fetch and the stitch are
//     serial; parts are at least half of SplitMinSeconds long).
//   - snapshot: a png frame at 30 s of the smart job's source, with one
//     image sticker, against the same frame decoded from the start
//     (target ≤ 0.3 s; snapshot.go).
//
// Sources take minutes to generate on a small machine, so they are cached
// in the OS temporary folder, named by their parameters. It prints
// medians as markdown tables; it never fails on time.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/spec"
)

func main() {
	runs := flag.Int("runs", 3, "runs of each side of each job")
	jobs := flag.String("jobs", "smart,split,model,snapshot", "which jobs to run, comma-separated")
	cache := flag.String("cache", filepath.Join(os.TempDir(), "stickerd-planbench"), "where generated sources are kept between runs")
	fetchMBps := flag.Float64("fetch-mbps", 100, "the model's source download speed, megabytes a second")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b := &bench{runs: *runs, cache: *cache, fetchMBps: *fetchMBps}
	if err := b.run(ctx, *jobs); err != nil {
		fmt.Fprintln(os.Stderr, "planbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	runs      int
	cache     string
	fetchMBps float64
	work      string
	split     *splitCosts // the split job's measurements, for the model
}

func (b *bench) run(ctx context.Context, jobs string) error {
	if err := os.MkdirAll(b.cache, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "planbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b.work = work
	fmt.Printf("planbench: ffmpeg %s, %d CPU cores, %d runs of each side (medians)\n\n", ffmpegVersion(), runtimeCPUs(), b.runs)
	if strings.Contains(jobs, "smart") {
		if err := b.smart(ctx); err != nil {
			return err
		}
	}
	if strings.Contains(jobs, "split") || strings.Contains(jobs, "model") {
		if err := b.splitJob(ctx); err != nil {
			return err
		}
	}
	if strings.Contains(jobs, "model") {
		b.model()
	}
	if strings.Contains(jobs, "snapshot") {
		if err := b.snapshotJob(ctx); err != nil {
			return err
		}
	}
	return nil
}

// engine returns a render engine with its own folders under the work dir.
func (b *bench) engine(ctx context.Context, name string, threads int) (*render.Engine, error) {
	cfg := render.DefaultConfig()
	cfg.WorkDir, cfg.CacheDir = filepath.Join(b.work, name, "work"), filepath.Join(b.work, name, "cache")
	cfg.Threads = threads
	cfg.DisableGPU = true
	return render.New(ctx, cfg)
}

// source returns a cached H.264 + AAC test source with 2 s GOPs, making it
// first if it is not there.
func (b *bench) source(ctx context.Context, w, h, seconds int) (string, error) {
	name := fmt.Sprintf("src-%dx%d-%ds-30fps-gop60-superfast-v1.mp4", w, h, seconds)
	path := filepath.Join(b.cache, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	fmt.Fprintf(os.Stderr, "making %s (cached in %s for later runs)…\n", name, b.cache)
	tmp := path + ".partial.mp4"
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=%dx%d:r=30:d=%d", w, h, seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=48000:d=%d", seconds),
		"-c:v", "libx264", "-preset", "superfast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("making %s: %v\n%s", name, err, out)
	}
	return path, os.Rename(tmp, path)
}

func (b *bench) sticker() (string, error) {
	path := filepath.Join(b.work, "sticker.png")
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0xFF3366@0.8:s=300x300,format=rgba",
		"-frames:v", "1", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("making the sticker: %v %s", err, out)
	}
	return path, nil
}

func parse(js string) (*spec.Spec, error) {
	return spec.Parse([]byte(js), spec.ParseOptions{AllowPaths: true})
}

// side is one way of rendering a job.
type side struct {
	name string
	run  func() error
}

// measure runs every side runs times, alternating which goes first, and
// returns each side's wall times and CPU times (this process's and its
// children's: the ffmpeg runs).
func measure(job string, runs int, sides []side) (wall, cpu [][]float64, err error) {
	wall, cpu = make([][]float64, len(sides)), make([][]float64, len(sides))
	for i := range runs {
		for n := range sides {
			k := (n + i) % len(sides)
			t0, c0 := time.Now(), cpuSeconds()
			if err := sides[k].run(); err != nil {
				return nil, nil, fmt.Errorf("%s, %s: %w", job, sides[k].name, err)
			}
			wall[k] = append(wall[k], time.Since(t0).Seconds())
			cpu[k] = append(cpu[k], cpuSeconds()-c0)
			fmt.Fprintf(os.Stderr, "%s run %d/%d: %s %.2f s (CPU %.2f s; load %s)\n", job, i+1, runs, sides[k].name,
				wall[k][len(wall[k])-1], cpu[k][len(cpu[k])-1], loadAverage())
		}
	}
	return wall, cpu, nil
}

// cpuSeconds is the CPU time this process and its waited-for children
// have used so far.
func cpuSeconds() float64 {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return sec(self.Utime) + sec(self.Stime) + sec(children.Utime) + sec(children.Stime)
}

// loadAverage is the machine's one-minute load average: on a shared
// machine the wall times mean little without it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// smart is job 1: smart against full on a 60 s 1080p source.
func (b *bench) smart(ctx context.Context) error {
	src, err := b.source(ctx, 1920, 1080, 60)
	if err != nil {
		return err
	}
	st, err := b.sticker()
	if err != nil {
		return err
	}
	eng, err := b.engine(ctx, "smart", 0)
	if err != nil {
		return err
	}
	js := `{"source":{"path":%q},"stickers":[{"type":"image","path":%q,"x":0.7,"y":0.4,"width":0.2,"start":21,"end":24,"animation":"pop"}],"output":{"format":"mp4","render_mode":%q}}`
	smartSpec, err := parse(fmt.Sprintf(js, src, st, "auto"))
	if err != nil {
		return err
	}
	fullSpec, err := parse(fmt.Sprintf(js, src, st, "full"))
	if err != nil {
		return err
	}
	smartOut, fullOut := filepath.Join(b.work, "smart.mp4"), filepath.Join(b.work, "full.mp4")
	var smartRes *render.Result
	times, cpus, err := measure("smart", b.runs, []side{
		{"smart render", func() error {
			r, err := eng.Render(ctx, render.Job{Spec: smartSpec, Resolver: render.FileResolver{}, Output: smartOut})
			smartRes = r
			return err
		}},
		{"full render", func() error {
			_, err := eng.Render(ctx, render.Job{Spec: fullSpec, Resolver: render.FileResolver{}, Output: fullOut})
			return err
		}},
	})
	if err != nil {
		return err
	}
	pl := smartRes.Plan
	same, outside, err := identicalOutside(ctx, src, smartOut, pl)
	if err != nil {
		return err
	}
	ms, mf := median(times[0]), median(times[1])
	fmt.Printf("### 1. Smart render: 60 s 1920×1080 30 fps H.264 + AAC, 2 s GOPs, one 3 s image sticker (21 s to 24 s)\n\n")
	fmt.Printf("| side | median wall (s) | min (s) | max (s) | median CPU (s) | plan | encoded (s) | copied (s) | output bytes |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|\n")
	fsz, _ := fileSize(fullOut)
	fmt.Printf("| smart render | %.2f | %.2f | %.2f | %.2f | %s, %d part(s) | %.2f | %.2f | %d |\n", ms, slices.Min(times[0]), slices.Max(times[0]),
		median(cpus[0]), pl.Mode, pl.Segments, pl.EncodedSeconds, pl.CopiedSeconds, smartRes.Bytes)
	fmt.Printf("| full render (render_mode full) | %.2f | %.2f | %.2f | %.2f | full | 60.00 | 0.00 | %d |\n\n", mf, slices.Min(times[1]), slices.Max(times[1]),
		median(cpus[1]), fsz)
	verdict := "meets"
	if ms/mf > 0.2 {
		verdict = "misses"
	}
	fmt.Printf("smart / full wall time: **%.3f** (%s the ≤ 0.2 target; CPU time %.3f); frames outside the encoded runs identical to the source's decoded frames: **%d of %d**\n\n",
		ms/mf, verdict, median(cpus[0])/median(cpus[1]), same, outside)
	return nil
}

// identicalOutside decodes the source and the smart output to per-frame
// MD5s and counts the frames outside the plan's encoded parts that match.
func identicalOutside(ctx context.Context, src, out string, pl *render.Plan) (same, outside int, err error) {
	a, err := frameSums(ctx, src)
	if err != nil {
		return 0, 0, err
	}
	bs, err := frameSums(ctx, out)
	if err != nil {
		return 0, 0, err
	}
	if len(a) != len(bs) {
		return 0, 0, fmt.Errorf("the source decodes to %d frames, the smart output to %d", len(a), len(bs))
	}
	encoded := func(i int) bool {
		for _, pt := range pl.Parts {
			if i >= pt.FirstFrame && i < pt.FirstFrame+pt.Frames {
				return true
			}
		}
		return false
	}
	for i := range a {
		if encoded(i) {
			continue
		}
		outside++
		if a[i] == bs[i] {
			same++
		}
	}
	return same, outside, nil
}

// frameSums are ffmpeg's framemd5 checksums of a video's decoded frames.
func frameSums(ctx context.Context, path string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framemd5", "-")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("framemd5 of %s: %w", path, err)
	}
	var sums []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		sums = append(sums, strings.TrimSpace(f[len(f)-1]))
	}
	return sums, nil
}

// splitCosts are what the split job measured, for the model.
type splitCosts struct {
	seconds  float64 // the source's length
	plan     float64 // planning (probe + packet index), wall
	partCPU  float64 // the costlier part's ffmpeg CPU time: its wall time on an idle core
	partSecs float64 // that part's length in seconds of video
	stitch   float64 // wall
	wholeCPU float64 // one whole render's CPU time
	sourceMB float64
	width    int
	height   int
}

// splitJob is job 2: two one-thread workers against one.
func (b *bench) splitJob(ctx context.Context) error {
	src, err := b.source(ctx, 1280, 720, 120)
	if err != nil {
		return err
	}
	st, err := b.sticker()
	if err != nil {
		return err
	}
	eng, err := b.engine(ctx, "split", 1)
	if err != nil {
		return err
	}
	s, err := parse(fmt.Sprintf(`{"source":{"path":%q},"stickers":[
		{"type":"image","path":%q,"width":0.15,"keyframes":[{"t":0,"x":0.1,"y":0.2},{"t":120,"x":0.9,"y":0.8}]},
		{"type":"text","text":"burst","size":0.06,"x":0.5,"y":0.9}],"output":{"format":"mp4"}}`, src, st))
	if err != nil {
		return err
	}
	job := render.Job{Spec: s, Resolver: render.FileResolver{}}
	var c splitCosts
	var plans, stitches, parts, partCPUs []float64
	var pl *render.Plan
	times, cpus, err := measure("split", b.runs, []side{
		{"2 parts on 2 one-thread workers", func() error {
			t0 := time.Now()
			var err error
			pl, err = eng.Plan(ctx, job, render.PlanOptions{Workers: 2})
			if err != nil {
				return err
			}
			if pl.Mode != render.ModeSplit || len(pl.Parts) != 2 {
				return fmt.Errorf("planned %s with %d parts (%s), want a split in two", pl.Mode, len(pl.Parts), pl.Reason)
			}
			plans = append(plans, time.Since(t0).Seconds())
			t1 := time.Now()
			files := make([]string, len(pl.Parts))
			errs := make([]error, len(pl.Parts))
			took := make([]float64, len(pl.Parts)) // CPU seconds
			var wg sync.WaitGroup
			for i := range pl.Parts {
				files[i] = filepath.Join(b.work, fmt.Sprintf("part%d%s", i, render.PartExt))
				wg.Go(func() {
					r, err := eng.RenderPart(ctx, job, pl, i, files[i])
					errs[i] = err
					if err == nil {
						took[i] = r.CPUSeconds
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					return err
				}
			}
			parts = append(parts, time.Since(t1).Seconds())
			slow := 0
			for i := range took {
				if took[i] > took[slow] {
					slow = i
				}
			}
			c.partSecs = pl.Parts[slow].End - pl.Parts[slow].Start
			partCPUs = append(partCPUs, took[slow])
			t2 := time.Now()
			sj := job
			sj.Output = filepath.Join(b.work, "split.mp4")
			res, err := eng.Stitch(ctx, sj, pl, files)
			if err != nil {
				return err
			}
			if res.Plan.Mode != render.ModeSplit {
				return fmt.Errorf("the stitch fell back: %s", res.Plan.Reason)
			}
			stitches = append(stitches, time.Since(t2).Seconds())
			return nil
		}},
		{"1 part on 1 one-thread worker", func() error {
			wj := job
			wj.Output = filepath.Join(b.work, "whole.mp4")
			res, err := eng.Render(ctx, wj)
			if err == nil && res.Plan.Mode != render.ModeFull {
				err = fmt.Errorf("the whole render planned %s", res.Plan.Mode)
			}
			return err
		}},
	})
	if err != nil {
		return err
	}
	st2, _ := os.Stat(src)
	c = splitCosts{seconds: 120, plan: median(plans), partCPU: median(partCPUs), partSecs: c.partSecs, stitch: median(stitches),
		wholeCPU: median(cpus[1]), sourceMB: float64(st2.Size()) / 1e6, width: 1280, height: 720}
	b.split = &c
	ms, mw := median(times[0]), median(times[1])
	fmt.Printf("### 2. Split render: 120 s 1280×720 30 fps, stickers throughout, ffmpeg limited to one thread\n\n")
	fmt.Printf("| side | median wall (s) | min (s) | max (s) | median CPU (s) | plan (s) | parts, concurrently (s) | costlier part's CPU (s) | stitch (s) |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|\n")
	fmt.Printf("| 2 parts on 2 one-thread workers | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", ms, slices.Min(times[0]), slices.Max(times[0]),
		median(cpus[0]), c.plan, median(parts), c.partCPU, c.stitch)
	fmt.Printf("| 1 part on 1 one-thread worker | %.2f | %.2f | %.2f | %.2f | – | %.2f | %.2f | – |\n\n", mw, slices.Min(times[1]), slices.Max(times[1]),
		median(cpus[1]), mw, c.wholeCPU)
	verdict := "meets"
	if mw/ms < 1.8 {
		verdict = "misses"
	}
	idle := c.plan + c.partCPU + c.stitch
	fmt.Printf("speed-up of the split: **%.2f×** measured (%s the ≥ 1.8× target); on two idle cores (each part's ffmpeg CPU time as its wall time, plus the plan and the stitch) %.2f×. The stitch is %.2f s, %.1f%% of the split's wall time. Load average at the end: %s on %d cores. (%s)\n\n",
		mw/ms, verdict, c.wholeCPU/idle, c.stitch, 100*c.stitch/ms, loadAverage(), runtimeCPUs(), pl.Reason)
	return nil
}

// model prints the modelled wall time of a 10-minute 1080p render.
func (b *bench) model() {
	c := b.split
	if c == nil {
		return
	}
	const seconds = 600.0
	pixels := 1920.0 * 1080 / float64(c.width*c.height)
	encodePerSec := c.partCPU / c.partSecs * pixels // one idle thread, seconds of wall per second of 1080p video
	stitchPerSec := c.stitch / c.seconds * pixels
	planPerSec := c.plan / c.seconds * pixels
	sourceMB := c.sourceMB / c.seconds * seconds * pixels
	fetch := sourceMB / b.fetchMBps
	maxParts := int(seconds / (render.DefaultSplitMinSeconds / 2))
	serial := fetch + planPerSec*seconds + stitchPerSec*seconds
	fmt.Printf("### 3. Model: a 10-minute 1080p30 render with stickers throughout, one-thread workers\n\n")
	fmt.Printf("Measured above (scaled from 720p by pixel count ×%.2f): encode %.3f s per second of video on one idle thread (a part's ffmpeg CPU time), stitch %.4f s and plan %.4f s per second of video; source %.0f MB fetched at %.0f MB/s (%.1f s, by every part worker at once and once for the stitch). Parts are at least %g s long, so at most %d.\n\n",
		pixels, encodePerSec, stitchPerSec, planPerSec, sourceMB, b.fetchMBps, fetch, render.DefaultSplitMinSeconds/2.0, maxParts)
	fmt.Printf("| workers | parts | fetch + plan (s) | encode (s) | stitch (s) | modelled wall (s) | speed-up |\n")
	fmt.Printf("|---|---|---|---|---|---|---|\n")
	one := 0.0
	for _, w := range []int{1, 8, 32, 128} {
		parts := min(w, maxParts)
		encode := encodePerSec * seconds / float64(parts)
		plan := planPerSec * seconds
		stitch := stitchPerSec * seconds
		total := fetch + plan + encode + stitch
		if w == 1 {
			total = fetch + encode // one worker renders whole: no plan split, no stitch
			plan, stitch = 0, 0
		}
		if one == 0 {
			one = total
		}
		fmt.Printf("| %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f× |\n", w, parts, fetch+plan, encode, stitch, total, one/total)
	}
	knee := encodePerSec * seconds / serial
	fmt.Printf("\nIt stops scaling where the parts' encode time falls to the serial fetch + plan + stitch (%.1f s): about %.0f workers; past %d workers there are no more parts to give (each at least %g s), so 128 workers are no faster than %d.\n\n",
		serial, math.Min(knee, float64(maxParts)), maxParts, render.DefaultSplitMinSeconds/2.0, maxParts)
}

func fileSize(p string) (int64, error) {
	st, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ffmpegVersion() string {
	out, err := exec.Command("ffmpeg", "-version").Output()
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(out))
	if len(f) >= 3 {
		return f[2]
	}
	return "?"
}

func runtimeCPUs() int { return runtime.NumCPU() }
