// Command stickerctl is stickerd's command-line client.
//
//	stickerctl render SPEC.json -o OUT            submit to a server (--server)
//	stickerctl render --local SPEC.json -o OUT    render in-process
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes a shell user can branch on.
const (
	exitOK       = 0
	exitFailed   = 1 // the render failed
	exitUsage    = 2 // bad flags or arguments
	exitInvalid  = 3 // the spec was refused
	exitCanceled = 130
)

func run(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "render":
		return renderCmd(ctx, args[1:], stderr)
	case "-h", "--help", "help":
		usage(stderr)
		return exitOK
	}
	fmt.Fprintf(stderr, "stickerctl: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(stderr io.Writer) {
	fmt.Fprint(stderr, `usage:
  stickerctl render [--local] [--server URL] SPEC.json -o OUT

commands:
  render   render a sticker spec to a video file
`)
}
