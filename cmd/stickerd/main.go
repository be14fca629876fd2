// Command stickerd runs stickerd's services: one subcommand per service,
// and dev, which runs them all in one process on the embedded defaults.
// Every flag has an environment twin (--http-addr is STICKERD_HTTP_ADDR).
//
// Logs are JSON lines (log/slog) on stderr, each with service=COMMAND and
// each key once; etcd's and the standard log package's lines go the same
// way. Help (-h, --help) goes to stdout; `stickerd dev` also prints a
// one-line banner with its URL to stdout once it is up.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, summary string
	// args is the synopsis of the arguments after the flags, if any.
	args string
	run  func(ctx context.Context, args []string, log *slog.Logger) error
}

var commands = []command{
	{"dev", "everything in one process: embedded etcd and Kafka, scheduler, worker", "", runDev},
	{"edge", "the realtime node: WebRTC sessions with live stickers (WHIP-style signaling)", "", runEdge},
	{"gateway", "the REST API (gin): uploads, renders, events, outputs", "", runGateway},
	{"kv", "one member of the etcd cluster that holds task state", "", runKV},
	{"kafka", "the embedded Kafka-protocol broker as its own process (tests, small setups)", "", runKafka},
	{"scheduler", "a scheduler replica: Kafka intake, leader election, dispatch over gRPC", "", runScheduler},
	{"worker", "a render worker: connects to the scheduler and runs ffmpeg", "", runWorker},
	{"healthcheck", "GET a path (default /readyz) of this process's HTTP address; exit 0 on 2xx (container healthchecks)", " [PATH]", runHealthcheck},
	{"monitor", "consumes stickerd.errors and the dead-letter topic and exports stickerd_errors_total", "", runMonitor},
	{"certs", "creates a cluster CA and a certificate and key per service (TLS between every pair of services)", "", runCerts},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(os.Stderr, logLevel())
	os.Exit(run(ctx, os.Args[1:], log, os.Stdout, os.Stderr))
}

// run runs the command args name and returns the exit status: 0 when it
// ended well or printed the help asked for, 1 when it failed (logged), 2
// for a usage error (printed plainly on stderr).
func run(ctx context.Context, args []string, log *slog.Logger, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		if len(args) == 1 {
			usage(stdout)
			return 0
		}
		name, args = args[1], []string{args[1], "-h"} // stickerd help COMMAND
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		clog := log.With("service", c.name)
		// Whatever logs through the default logger (etcd, the standard log
		// package) writes the same JSON lines.
		slog.SetDefault(clog)
		err := c.run(ctx, args[1:], clog)
		var help errHelp
		var bad errUsage
		switch {
		case errors.As(err, &help):
			printHelp(stdout, c, help.fs)
			return 0
		case errors.As(err, &bad):
			fmt.Fprintf(stderr, "stickerd %s: %v\nstickerd %s -h lists its flags\n", c.name, bad.err, c.name)
			return 2
		case err != nil:
			log.Error("stopped", "service", c.name, "err", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "stickerd: unknown command %q\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: stickerd COMMAND [flags]   (stickerd COMMAND -h lists a command's flags)")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
}
