// Command gatewaybench measures stickerd through its REST gateway over
// real HTTP, in two parts, and prints each as a table:
//
//  1. the render issue's reference job (10 s 1280×720 30 fps source, a
//     keyframed PNG, a looping GIF and a stroked text sticker → mp4)
//     submitted to a `stickerd dev` stack, against the hand-written ffmpeg
//     command, alternating (target: at most 10% more wall time);
//  2. an open-loop load generator against POST /v1/renders (with the
//     pipeline's no-op renderer) and GET /v1/renders/{id} at rising rates
//     (targets: 2,000 submissions/s with p99 under 50 ms, 10,000 reads/s,
//     no 5xx), with where the time goes when a target is missed.
//
// Load goes to 127.0.0.1 only: the stack runs in this process.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

func main() {
	part := flag.String("part", "all", "which part to run: render, load or all")
	runs := flag.Int("runs", 5, "render part: runs of each side")
	submitRates := flag.String("submit-rates", "500,1000,2000,3000", "load part: POST /v1/renders rates, requests/s")
	readRates := flag.String("read-rates", "2000,5000,10000,15000", "load part: GET /v1/renders/{id} rates, requests/s")
	window := flag.Duration("window", 3*time.Second, "load part: how long each rate runs")
	conns := flag.Int("conns", 1024, "load part: most requests in flight (and connections)")
	scratch := flag.String("scratch", "/dev/shm", "load part: folder for the no-op outputs and blobs (empty: on disk)")
	profileDir := flag.String("profile-dir", "", "load part: keep a CPU profile of each phase here (default: only summarised when a target is missed)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *part, *runs, loadOptions{submitRates: rates(*submitRates), readRates: rates(*readRates),
		window: *window, conns: *conns, scratch: *scratch, profileDir: *profileDir}); err != nil {
		fmt.Fprintln(os.Stderr, "gatewaybench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, part string, runs int, lo loadOptions) error {
	switch part {
	case "render", "load", "all":
	default:
		return fmt.Errorf("-part %q: want render, load or all", part)
	}
	if len(lo.submitRates) == 0 || len(lo.readRates) == 0 || lo.window <= 0 || lo.conns < 1 || runs < 1 {
		return fmt.Errorf("rates, -window, -conns and -runs must be positive")
	}
	if part != "load" {
		if err := renderBench(ctx, runs); err != nil {
			return fmt.Errorf("render part: %w", err)
		}
	}
	if part != "render" {
		if err := loadBench(ctx, lo); err != nil {
			return fmt.Errorf("load part: %w", err)
		}
	}
	return nil
}

// rates parses a comma-separated list of positive rates; nil on a bad one.
func rates(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil
		}
		out = append(out, n)
	}
	return out
}
