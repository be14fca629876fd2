// Command tracebench measures what tracing costs, in one run: gateway
// submit throughput (POST /v1/renders over real HTTP, the pipeline's no-op
// renderer behind it) and the reference render (a 10 s 1280×720 30 fps
// source with a keyframed PNG, a looping GIF and a stroked text sticker,
// through the gateway to a real ffmpeg worker), each with tracing off, on
// at sample ratio 1.0 and on at 0.01. Spans go over OTLP/gRPC to a sink in
// this process that counts and discards them, so the cost measured is
// stickerd's (spans, context propagation, export), not a backend's.
//
// Each mode runs a `stickerd dev` stack in a process of its own (this
// program, started again with -child): the three run side by side, so the
// machine's other work disturbs them alike, and each process is charged
// its own CPU time. A second stack with tracing off runs beside them: its
// cost against the first is the benchmark's own noise. The modes take
// turns for -rounds rounds (a Williams design: each runs in each position
// and after each other equally often, and the machine is let go quiet
// between turns); the table gives each mode's figures pooled over its
// rounds (a sum over a sum) and their cost against tracing off. Load goes to
// 127.0.0.1 only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	rounds := flag.Int("rounds", 16, "submit part: rounds; each gives every mode one window of load")
	renderRounds := flag.Int("render-rounds", 8, "render part: reference renders per mode")
	window := flag.Duration("window", time.Second, "submit part: how long each window of load lasts")
	conns := flag.Int("conns", 32, "submit part: requests in flight")
	part := flag.String("part", "all", "what to measure: submit, render or all")
	scratch := flag.String("scratch", "/dev/shm", "folder for the stacks' data (empty: the system's temporary folder)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of each mode's stack process to this path with -<mode number>.pprof added")
	var child childArgs
	flag.IntVar(&child.mode, "child", -1, "(internal) run the stack of this mode")
	flag.BoolVar(&child.noop, "child-noop", false, "(internal) the stack renders nothing")
	flag.StringVar(&child.dir, "child-dir", "", "(internal) the stack's folder")
	flag.StringVar(&child.cache, "child-cache", "", "(internal) the render cache folder")
	flag.StringVar(&child.sinkURL, "child-sink", "", "(internal) where its spans go")
	flag.StringVar(&child.cpuprofile, "child-cpuprofile", "", "(internal) its CPU profile")
	flag.Parse()
	if child.mode >= 0 {
		if child.mode >= len(modes) {
			fmt.Fprintln(os.Stderr, "tracebench: -child: no such mode")
			os.Exit(2)
		}
		if err := childMain(child); err != nil {
			fmt.Fprintln(os.Stderr, "tracebench stack:", err)
			os.Exit(1)
		}
		return
	}
	// SIGTERM too: the stacks' data lives in memory under -scratch and must
	// go with the run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := options{rounds: *rounds, renderRounds: *renderRounds, window: *window, conns: *conns, scratch: *scratch,
		cpuprofile: *cpuprofile, submit: *part != "render", render: *part != "submit"}
	if *part != "all" && *part != "submit" && *part != "render" {
		fmt.Fprintf(os.Stderr, "tracebench: -part %q: want submit, render or all\n", *part)
		os.Exit(2)
	}
	if o.rounds < 1 || o.renderRounds < 1 || o.window <= 0 || o.conns < 1 {
		fmt.Fprintln(os.Stderr, "tracebench: -rounds, -render-rounds, -window and -conns must be positive")
		os.Exit(2)
	}
	res, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracebench:", err)
		os.Exit(1)
	}
	res.print(os.Stdout, o)
}

// startProfile writes this process's CPU profile to path until the
// returned function is called; with no path, nothing.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
