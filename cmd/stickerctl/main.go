// Command stickerctl is stickerd's command-line client.
//
//	stickerctl render SPEC.json -o OUT            submit to a server (--server)
//	stickerctl render --local SPEC.json -o OUT    render in-process
//	stickerctl status JOB_ID                      show a job
//	stickerctl cancel JOB_ID                      cancel a job
//	stickerctl stickers                           list the built-in stickers
//	stickerctl template create|list|show|render   templates (design once, render many)
//	stickerctl batch submit ROWS.csv --template ID  render a template once per row
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
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes a shell user can branch on.
const (
	exitOK       = 0
	exitFailed   = 1 // the render failed, or the server could not be reached
	exitUsage    = 2 // bad flags or arguments, or a missing or wrong API key
	exitInvalid  = 3 // the spec was refused
	exitCanceled = 130
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	if (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help") && len(args) > 1 {
		args = []string{args[1], "-h"} // stickerctl help COMMAND
	}
	switch args[0] {
	case "render":
		return renderCmd(ctx, args[1:], stdout, stderr)
	case "status":
		return statusCmd(ctx, args[1:], stdout, stderr)
	case "cancel":
		return cancelCmd(ctx, args[1:], stdout, stderr)
	case "stickers":
		return stickersCmd(ctx, args[1:], stdout, stderr)
	case "template":
		return templateCmd(ctx, args[1:], stdout, stderr)
	case "batch":
		return batchCmd(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "stickerctl: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  `+renderSynopsis+`
  `+statusSynopsis+`
  `+cancelSynopsis+`
  `+stickersSynopsis+`
  `+templateSynopsis+`
  `+batchSynopsis+`

stickerctl COMMAND -h lists a command's flags.

commands:
  render     render a sticker spec to a video file (on a server, or --local)
  status     show a job of the server
  cancel     cancel a job of the server
  stickers   list the server's built-in stickers
  template   create, list, show, render, update or delete templates
  batch      render a template once per row of a CSV table; status, cancel

The server is --server or $STICKERD_SERVER (default http://127.0.0.1:8080);
the API key is --api-key or $STICKERD_API_KEY.
Exit codes: 0 done, 1 failed, 2 usage, 3 spec refused, 130 interrupted.
`)
}
