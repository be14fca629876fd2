// Command tracebench measures what tracing costs, in one run: gateway
// submit throughput (POST /v1/renders over real HTTP, the pipeline's no-op
// renderer behind it) and the reference render (a 10 s 1280×720 30 fps
// source with a keyframed PNG, a looping GIF and a stroked text sticker,
// through the gateway to a real ffmpeg worker), each with tracing off, on
// at sample ratio 1.0 and on at 0.01. Spans go over OTLP/gRPC to a sink in
// this process that counts and discards them, so the cost measured is
// stickerd's (spans, context propagation, export), not a backend's.
//
// The three modes take turns, a fresh `stickerd dev` stack each time (the
// instrumentation is chosen when a stack starts), for -rounds rounds; the
// table gives medians and each mode's cost against tracing off: the
// throughput and wall time, and the CPU time per submission and per
// render, which a machine shared with other work disturbs much less. Load
// goes to 127.0.0.1 only.
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
	rounds := flag.Int("rounds", 3, "rounds; each runs every mode once")
	window := flag.Duration("window", 2*time.Second, "submit part: how long each throughput window runs")
	windows := flag.Int("windows", 3, "submit part: windows per mode and round")
	conns := flag.Int("conns", 32, "submit part: requests in flight")
	part := flag.String("part", "all", "what to measure: submit, render or all")
	scratch := flag.String("scratch", "/dev/shm", "folder for the stacks' data (empty: the system's temporary folder)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tracebench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	// SIGTERM too: the stacks' data lives in memory under -scratch and must
	// go with the run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := options{rounds: *rounds, window: *window, windows: *windows, conns: *conns, scratch: *scratch,
		submit: *part != "render", render: *part != "submit"}
	if *part != "all" && *part != "submit" && *part != "render" {
		fmt.Fprintf(os.Stderr, "tracebench: -part %q: want submit, render or all\n", *part)
		os.Exit(2)
	}
	if o.rounds < 1 || o.window <= 0 || o.windows < 1 || o.conns < 1 {
		fmt.Fprintln(os.Stderr, "tracebench: -rounds, -window, -windows and -conns must be positive")
		os.Exit(2)
	}
	res, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracebench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	res.print(os.Stdout, o)
}
