// Command renderbench measures the render engine against the equivalent
// hand-written ffmpeg command on two jobs:
//
//   - the reference job: a 10 s 1280×720 30 fps source with three stickers
//     (a keyframed PNG, a looping animated GIF and a text sticker with a
//     stroke) rendered to mp4 by one engine in this process;
//   - the short job: a 10 s 720p blank canvas with one moving line of
//     text, rendered by a new `stickerctl render --local` process each run,
//     so its row is what a user sees, process start and all. A third row
//     gives the same command's first run on a machine (an empty cache).
//
// Runs alternate so all sides see the same machine, and it prints medians
// and ratios as a table.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/spec"
)

func main() {
	runs := flag.Int("runs", 5, "runs of each side of the reference job")
	shortRuns := flag.Int("short-runs", 11, "runs of each side of the short job")
	keep := flag.String("keep", "", "keep the work folder (outputs, inputs) here")
	jobs := flag.String("jobs", "reference,short", "which jobs to run, comma-separated")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if !strings.Contains(*jobs, "reference") {
		*runs = 0
	}
	if !strings.Contains(*jobs, "short") {
		*shortRuns = 0
	}
	if err := run(ctx, *runs, *shortRuns, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "renderbench:", err)
		os.Exit(1)
	}
}

// side is one way of producing a job's output; run returns its size.
type side struct {
	name string
	run  func(i int) (int64, error)
}

// result is a side's wall times, CPU times (its own and its children's,
// user and system) and last output size.
type result struct {
	name  string
	times []float64
	cpu   []float64
	bytes int64
}

// cpuSeconds is the CPU time this process and its waited-for children
// have used so far. A side's CPU time is steadier than its wall time on a
// busy machine, and it counts the engine's work in and out of ffmpeg.
func cpuSeconds() float64 {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return sec(self.Utime) + sec(self.Stime) + sec(children.Utime) + sec(children.Stime)
}

// measure runs every side runs times, rotating which goes first each
// round so that none always gets a warm (or cold) page cache.
func measure(job string, runs int, sides []side) ([]result, error) {
	res := make([]result, len(sides))
	for k, s := range sides {
		res[k].name = s.name
	}
	for i := 0; i < runs; i++ {
		for n := range sides {
			k := (n + i) % len(sides)
			c0, t0 := cpuSeconds(), time.Now()
			b, err := sides[k].run(i)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", job, sides[k].name, err)
			}
			res[k].times = append(res[k].times, time.Since(t0).Seconds())
			res[k].cpu = append(res[k].cpu, cpuSeconds()-c0)
			res[k].bytes = b
		}
		fmt.Fprintf(os.Stderr, "%s run %d/%d:", job, i+1, runs)
		for _, r := range res {
			fmt.Fprintf(os.Stderr, " %s %.3f s;", r.name, r.times[len(r.times)-1])
		}
		fmt.Fprintln(os.Stderr)
	}
	return res, nil
}

func fileSize(p string) (int64, error) {
	st, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func run(ctx context.Context, runs, shortRuns int, keep string) error {
	dir := keep
	if dir == "" {
		d, err := os.MkdirTemp("", "renderbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ref, err := makeReference(ctx, dir)
	if err != nil {
		return err
	}
	cfg := render.DefaultConfig()
	cfg.WorkDir, cfg.CacheDir = filepath.Join(dir, "work"), filepath.Join(dir, "cache")
	eng, err := render.New(ctx, cfg)
	if err != nil {
		return err
	}
	s, err := spec.Parse(ref.spec, spec.ParseOptions{AllowPaths: true})
	if err != nil {
		return err
	}
	short, err := newShortJob(ctx, dir)
	if err != nil {
		return err
	}
	fmt.Printf("reference job: 10 s 1280x720 30 fps source, keyframed PNG + looping GIF + stroked text -> mp4; one engine in this process\n")
	fmt.Printf("short job: 10 s 1280x720 30 fps blank canvas, one moving text -> mp4; a new %s each run (the user's cache)\n", short.how)
	fmt.Printf("encoder: %s (%s); ffmpeg %s; %d and %d runs of each side, alternating\n\n",
		eng.Encoder("mp4").Name, eng.Encoder("mp4").Reason, eng.Capabilities().FFmpegVersion, runs, shortRuns)

	var refRes, shortRes []result
	if runs > 0 {
		refRes, err = measure("reference", runs, []side{
			{"stickerd engine", func(int) (int64, error) {
				res, err := eng.Render(ctx, render.Job{Spec: s, Resolver: render.FileResolver{Dir: dir}, Output: filepath.Join(dir, "engine.mp4")})
				if err != nil {
					return 0, err
				}
				return res.Bytes, nil
			}},
			{"hand-written ffmpeg", func(int) (int64, error) {
				out := filepath.Join(dir, "hand.mp4")
				cmd := exec.CommandContext(ctx, "ffmpeg", append(ref.handArgs, out)...)
				if b, err := cmd.CombinedOutput(); err != nil {
					return 0, fmt.Errorf("%v\n%s", err, b)
				}
				return fileSize(out)
			}},
		})
		if err != nil {
			return err
		}
	}

	shortEngine, shortHand, shortCold := filepath.Join(dir, "short-engine.mp4"), filepath.Join(dir, "short-hand.mp4"), filepath.Join(dir, "short-cold.mp4")
	if shortRuns > 0 {
		// One run first, not counted: it fills the user's cache (the
		// capability probe, the font) as any first run on a machine does.
		// The first-run row measures that on its own, with an empty cache
		// each time.
		if err := short.engine(ctx, shortEngine, ""); err != nil {
			return err
		}
		shortRes, err = measure("short", shortRuns, []side{
			{short.how, func(int) (int64, error) {
				if err := short.engine(ctx, shortEngine, ""); err != nil {
					return 0, err
				}
				return fileSize(shortEngine)
			}},
			{"hand-written ffmpeg", func(int) (int64, error) {
				if err := short.hand(ctx, shortHand); err != nil {
					return 0, err
				}
				return fileSize(shortHand)
			}},
			{short.how + ", first run", func(i int) (int64, error) {
				home, err := short.coldCache(i)
				if err != nil {
					return 0, err
				}
				if err := short.engine(ctx, shortCold, home); err != nil {
					return 0, err
				}
				return fileSize(shortCold)
			}},
		})
		if err != nil {
			return err
		}
	}

	fmt.Printf("| job       | side                                 | median wall (s) | min (s) | max (s) | realtime factor | median CPU (s) | output bytes | wall / ffmpeg | CPU / ffmpeg |\n")
	fmt.Printf("|-----------|--------------------------------------|-----------------|---------|---------|-----------------|----------------|--------------|---------------|--------------|\n")
	row := func(job string, r result, hand result) {
		fmt.Printf("| %-9s | %-36s | %15.3f | %7.3f | %7.3f | %14.1fx | %14.3f | %12d | %12.3fx | %11.3fx |\n", job, r.name, median(r.times),
			slices.Min(r.times), slices.Max(r.times), 10/median(r.times), median(r.cpu), r.bytes,
			median(r.times)/median(hand.times), median(r.cpu)/median(hand.cpu))
	}
	for _, r := range refRes {
		row("reference", r, refRes[1])
	}
	for _, r := range shortRes {
		row("short", r, shortRes[1])
	}
	fmt.Println()

	if refRes != nil {
		me, mh := median(refRes[0].times), median(refRes[1].times)
		fmt.Printf("reference job: engine / ffmpeg wall time %.3f (%+.1f%%); output size ratio %.3f\n", me/mh, (me/mh-1)*100, float64(refRes[0].bytes)/float64(refRes[1].bytes))
	}
	if shortRes != nil {
		se, sh := median(shortRes[0].times), median(shortRes[1].times)
		verdict := "within"
		if se/sh > 1.05 {
			verdict = "OVER"
		}
		same, err := sameBytes(shortEngine, shortHand)
		if err != nil {
			return err
		}
		identical := "byte-identical output"
		if !same {
			identical = fmt.Sprintf("outputs differ (size ratio %.3f)", float64(shortRes[0].bytes)/float64(shortRes[1].bytes))
		}
		ce, ch := median(shortRes[0].cpu), median(shortRes[1].cpu)
		fmt.Printf("short job: %s / ffmpeg wall time %.3f (%+.1f%%, %+.0f ms), %s the 1.05 target; CPU time %.3f (%+.0f ms); %s\n",
			short.how, se/sh, (se/sh-1)*100, (se-sh)*1000, verdict, ce/ch, (ce-ch)*1000, identical)
	}
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
