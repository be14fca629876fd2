// Command renderbench measures the render engine against the equivalent
// hand-written ffmpeg command on the reference job: a 10 s 1280×720 30 fps
// source with three stickers (a keyframed PNG, a looping animated GIF and a
// text sticker with a stroke) rendered to mp4. Runs alternate so both see
// the same machine, and it prints medians and ratios as a table.
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
	"time"

	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/spec"
)

func main() {
	runs := flag.Int("runs", 5, "runs of each side")
	keep := flag.String("keep", "", "keep the work folder (outputs, inputs) here")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *runs, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "renderbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, runs int, keep string) error {
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
	fmt.Printf("reference job: 10 s 1280x720 30 fps source, keyframed PNG + looping GIF + stroked text -> mp4\n")
	fmt.Printf("encoder: %s (%s); ffmpeg %s; %d runs each, alternating\n\n",
		eng.Encoder("mp4").Name, eng.Encoder("mp4").Reason, eng.Capabilities().FFmpegVersion, runs)

	var engineT, handT []float64
	var engineB, handB int64
	for i := 0; i < runs; i++ {
		// Alternate which side goes first so neither always gets a warm cache.
		sides := []func() error{
			func() error {
				out := filepath.Join(dir, "engine.mp4")
				t0 := time.Now()
				res, err := eng.Render(ctx, render.Job{Spec: s, Resolver: render.FileResolver{Dir: dir}, Output: out})
				if err != nil {
					return fmt.Errorf("engine: %w", err)
				}
				engineT = append(engineT, time.Since(t0).Seconds())
				engineB = res.Bytes
				return nil
			},
			func() error {
				out := filepath.Join(dir, "hand.mp4")
				t0 := time.Now()
				cmd := exec.CommandContext(ctx, "ffmpeg", append(ref.handArgs, out)...)
				if b, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("hand-written ffmpeg: %v\n%s", err, b)
				}
				handT = append(handT, time.Since(t0).Seconds())
				st, _ := os.Stat(out)
				handB = st.Size()
				return nil
			},
		}
		if i%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			if err := side(); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "run %d/%d: engine %.2f s, ffmpeg %.2f s\n", i+1, runs, engineT[len(engineT)-1], handT[len(handT)-1])
	}
	me, mh := median(engineT), median(handT)
	fmt.Printf("| side                  | median wall (s) | min (s) | max (s) | realtime factor | output bytes |\n")
	fmt.Printf("|-----------------------|-----------------|---------|---------|-----------------|--------------|\n")
	row := func(name string, ts []float64, b int64) {
		fmt.Printf("| %-21s | %15.3f | %7.3f | %7.3f | %14.1fx | %12d |\n", name, median(ts), slices.Min(ts), slices.Max(ts), 10/median(ts), b)
	}
	row("stickerd engine", engineT, engineB)
	row("hand-written ffmpeg", handT, handB)
	fmt.Printf("\nengine / ffmpeg wall time: %.3f (%+.1f%%); output size ratio: %.3f\n", me/mh, (me/mh-1)*100, float64(engineB)/float64(handB))
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
