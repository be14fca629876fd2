// Command stickerd runs stickerd's services: one subcommand per service,
// and dev, which runs them all in one process on the embedded defaults.
// Every flag has an environment twin (--http-addr is STICKERD_HTTP_ADDR).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, log *slog.Logger) error
}

var commands = []command{
	{"dev", "everything in one process: embedded etcd and Kafka, scheduler, worker", runDev},
	{"edge", "the realtime node: WebRTC sessions with live stickers (WHIP-style signaling)", runEdge},
	{"gateway", "the REST API (gin): uploads, renders, events, outputs", runGateway},
	{"kv", "one member of the etcd cluster that holds task state", runKV},
	{"kafka", "the embedded Kafka-protocol broker as its own process (tests, small setups)", runKafka},
	{"scheduler", "a scheduler replica: Kafka intake, leader election, dispatch over gRPC", runScheduler},
	{"worker", "a render worker: connects to the scheduler and runs ffmpeg", runWorker},
	{"healthcheck", "GET a path of this process's HTTP address; exit 0 on 2xx (container healthchecks)", runHealthcheck},
	{"monitor", "consumes stickerd.errors and the dead-letter topic and exports stickerd_errors_total", runMonitor},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	os.Exit(run(ctx, os.Args[1:], log, os.Stderr))
}

func run(ctx context.Context, args []string, log *slog.Logger, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			if err := c.run(ctx, args[1:], log.With("service", c.name)); err != nil {
				log.Error("stopped", "service", c.name, "err", err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "stickerd: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: stickerd COMMAND [flags]   (stickerd COMMAND -h lists a command's flags)")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("STICKERD_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
