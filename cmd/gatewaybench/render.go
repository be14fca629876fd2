package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/stickerd/stickerd/internal/localstack"
	"github.com/stickerd/stickerd/internal/wiring"
	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// renderBench runs the reference job through a `stickerd dev` stack over
// HTTP and through the hand-written ffmpeg command, alternating, and
// prints the medians. A service run is timed from the submit to the
// terminal status on the event stream; the uploads come before, untimed.
func renderBench(ctx context.Context, runs int) error {
	dir, err := os.MkdirTemp("", "gatewaybench-render-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ref, err := makeReference(ctx, dir)
	if err != nil {
		return err
	}
	srv, err := localstack.Start(ctx, filepath.Join(dir, "data"), localstack.Options{WebUI: true, Stack: func(c *wiring.Config) {
		c.Workers, c.Worker.Concurrency = 1, 1
	}})
	if err != nil {
		return err
	}
	defer srv.Close()
	c := stickerd.New(srv.URL, stickerd.WithHTTPClient(tunedClient(8, 0)))
	ids := map[string]string{}
	for role, path := range ref.files {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		a, err := c.UploadAsset(ctx, filepath.Base(path), f)
		f.Close()
		if err != nil {
			return fmt.Errorf("uploading %s: %w", path, err)
		}
		ids[role] = string(a.ID)
	}
	var serviceT, handT []float64
	var serviceB, handB int64
	// Where a service run's time goes, by the job's own timestamps.
	var toStart, rendering, toSeen []float64
	service := func(run string) (float64, error) {
		t0 := time.Now()
		job, cached, err := c.SubmitRender(ctx, ref.spec(ids, run))
		if err != nil {
			return 0, err
		}
		if cached {
			return 0, fmt.Errorf("run %s was answered from the result cache", run)
		}
		var last *stickerd.Job
		if err := c.Events(ctx, job.ID, func(ev stickerd.Event) error {
			if ev.Job != nil {
				last = ev.Job
			}
			return nil
		}); err != nil {
			return 0, err
		}
		seen := time.Now()
		if last == nil || last.Status != stickerd.StatusSucceeded || last.StartedAt == nil || last.FinishedAt == nil {
			return 0, fmt.Errorf("service run %s ended %+v", run, last)
		}
		serviceB = last.Output.Bytes
		if run != "warm-up" {
			toStart = append(toStart, last.StartedAt.Sub(t0).Seconds())
			rendering = append(rendering, last.FinishedAt.Sub(*last.StartedAt).Seconds())
			toSeen = append(toSeen, seen.Sub(*last.FinishedAt).Seconds())
		}
		return seen.Sub(t0).Seconds(), nil
	}
	hand := func() (float64, error) {
		out := filepath.Join(dir, "hand.mp4")
		t0 := time.Now()
		if b, err := exec.CommandContext(ctx, "ffmpeg", append(ref.handArgs, out)...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("hand-written ffmpeg: %v\n%s", err, b)
		}
		took := time.Since(t0).Seconds()
		st, err := os.Stat(out)
		if err != nil {
			return 0, err
		}
		handB = st.Size()
		return took, nil
	}
	// One untimed run of each warms the page cache, the engine's sticker
	// cache and the connections, as a long-running service would have them.
	if _, err := service("warm-up"); err != nil {
		return err
	}
	if _, err := hand(); err != nil {
		return err
	}
	for i := range runs {
		sides := []func() error{
			func() error { t, err := service(fmt.Sprint("run-", i)); serviceT = append(serviceT, t); return err },
			func() error { t, err := hand(); handT = append(handT, t); return err },
		}
		if i%2 == 1 { // neither side always goes first
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			if err := side(); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "render run %d/%d: service %.2f s, ffmpeg %.2f s\n", i+1, runs, serviceT[i], handT[i])
	}
	eng := srv.Stack.Engine
	fmt.Printf("## 1. Reference job through the service over HTTP vs the hand-written ffmpeg command\n\n")
	fmt.Printf("10 s 1280x720 30 fps source + keyframed PNG + looping GIF + stroked text -> mp4; encoder %s (%s); "+
		"stickerd dev stack (embedded etcd + Kafka, 1 scheduler, 1 worker); service timed submit -> succeeded on the event stream; "+
		"%d runs each, alternating, after one untimed warm-up each\n\n", eng.Encoder("mp4").Name, eng.Encoder("mp4").Reason, runs)
	fmt.Printf("| side                           | median wall (s) | min (s) | max (s) | output bytes |\n")
	fmt.Printf("|--------------------------------|----------------:|--------:|--------:|-------------:|\n")
	row := func(name string, ts []float64, b int64) {
		fmt.Printf("| %-30s | %15.3f | %7.3f | %7.3f | %12d |\n", name, median(ts), slices.Min(ts), slices.Max(ts), b)
	}
	row("stickerd service over HTTP", serviceT, serviceB)
	row("hand-written ffmpeg", handT, handB)
	ratio := median(serviceT) / median(handT)
	verdict := "met"
	if ratio > 1.10 {
		verdict = "MISSED"
	}
	fmt.Printf("\nservice / ffmpeg wall time: %.3f (%+.1f%%); target <= 1.10: %s\n\n", ratio, (ratio-1)*100, verdict)
	fmt.Printf("where a service run's time goes (medians, from the job's timestamps):\n\n")
	fmt.Printf("| submit -> started on the worker | started -> finished (engine + storing the output) | finished -> terminal event seen |\n")
	fmt.Printf("|---:|---:|---:|\n| %.3f s | %.3f s | %.3f s |\n\n", median(toStart), median(rendering), median(toSeen))
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
