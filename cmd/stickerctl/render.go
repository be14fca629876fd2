package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/spec"
)

func renderCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	local := fs.Bool("local", false, "render in-process instead of on a server")
	out := fs.String("o", "", "output file (required)")
	srv := serverFlags(fs)
	quiet := fs.Bool("q", false, "no progress bar")
	verbose := fs.Bool("v", false, "print the ffmpeg command line (with --local)")
	workers := fs.Int("workers", 1, "with --local: render a long job as this many parts at once, then join them (each ffmpeg gets this machine's cores divided among them)")
	positional, code, ok := parseArgs(fs, args, renderSynopsis, stdout, stderr)
	if !ok {
		return code
	}
	if len(positional) != 1 || *out == "" {
		fmt.Fprintln(stderr, "stickerctl render: need exactly one SPEC.json and -o OUT")
		return exitUsage
	}
	bar := progressBar(stderr, *quiet)
	if *local {
		if *workers < 1 {
			fmt.Fprintln(stderr, "stickerctl render: --workers must be at least 1")
			return exitUsage
		}
		return renderLocal(ctx, positional[0], *out, bar, stderr, *verbose, *workers)
	}
	c, ok := srv.client(stderr)
	if !ok {
		return exitUsage
	}
	r := &remoteRender{client: c, server: srv.url, stderr: stderr, quiet: *quiet, bar: bar}
	return r.run(ctx, positional[0], *out)
}

// Synopses of the commands, first in their help and in stickerctl's usage.
const (
	renderSynopsis   = "stickerctl render [--local [--workers N]] [--server URL] [--api-key KEY] [-q] [-v] SPEC.json -o OUT"
	statusSynopsis   = "stickerctl status [--server URL] [--api-key KEY] [--json] JOB_ID"
	cancelSynopsis   = "stickerctl cancel [--server URL] [--api-key KEY] JOB_ID"
	stickersSynopsis = "stickerctl stickers [--server URL] [--api-key KEY] [--json]"
)

// parseArgs parses flags that may come before or after the positional
// arguments (stickerctl render SPEC.json -o OUT) and returns the latter.
// When the command should stop instead, ok is false and code is its exit
// status: exitOK after -h, -help or --help printed the command's help on
// stdout, exitUsage after a bad flag (said on stderr, with the help).
func parseArgs(fs *flag.FlagSet, args []string, synopsis string, stdout, stderr io.Writer) (positional []string, code int, ok bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() {} // the help is printed below, where it belongs
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, fs, synopsis)
			return nil, exitOK, false
		}
		if err != nil { // the flag package has said what is wrong
			printHelp(stderr, fs, synopsis)
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			return positional, exitOK, true
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// printHelp prints a command's synopsis and flags.
func printHelp(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "usage: %s\n\nflags (before or after the arguments):\n", synopsis)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

func renderLocal(ctx context.Context, specPath, out string, bar func(float64), stderr io.Writer, verbose bool, workers int) int {
	data, err := readSpec(specPath)
	if err != nil {
		fmt.Fprintf(stderr, "stickerctl: %v\n", err)
		return exitUsage
	}
	s, err := spec.Parse(data, spec.ParseOptions{AllowPaths: true})
	if err != nil {
		printErr(stderr, err)
		return exitInvalid
	}
	cfg := render.DefaultConfig()
	if workers > 1 {
		// Parts render side by side: share the cores out rather than have
		// each ffmpeg start a thread per core.
		cfg.Threads = max(1, runtime.NumCPU()/workers)
	}
	eng, err := render.New(ctx, cfg)
	if err != nil {
		printErr(stderr, err)
		return exitFailed
	}
	dir := "."
	if specPath != "-" {
		dir = filepath.Dir(specPath)
	}
	start := time.Now()
	job := render.Job{Spec: s, Resolver: render.FileResolver{Dir: dir}, Output: out, Progress: bar}
	res, err := eng.RenderWith(ctx, job, render.PlanOptions{Workers: workers})
	bar(-1)
	if err != nil {
		printErr(stderr, err)
		if errcode.Of(err) == errcode.Canceled {
			return exitCanceled
		}
		if errcode.Of(err) == errcode.SpecInvalid {
			return exitInvalid
		}
		return exitFailed
	}
	if verbose {
		fmt.Fprintf(stderr, "ffmpeg %s\n", shellQuote(res.Args))
	}
	fmt.Fprintf(stderr, "wrote %s: %s %dx%d, %.2f s, %d bytes, encoder %s (%s), in %.2f s\n",
		res.Path, res.Format, res.Width, res.Height, res.Duration, res.Bytes, res.Encoder.Name,
		res.Encoder.Reason, time.Since(start).Seconds())
	printPlan(stderr, res.Plan)
	return exitOK
}

// printPlan says how a local render went: whole, smart or split, what it
// encoded and copied, and why it was not smart or not split.
func printPlan(w io.Writer, pl *render.Plan) {
	if pl == nil {
		return
	}
	fmt.Fprintf(w, "plan: %s, %d encoded segment(s), %.2f s encoded, %.2f s copied, %d worker(s)\n",
		pl.Mode, pl.Segments, pl.EncodedSeconds, pl.CopiedSeconds, pl.Workers)
	if pl.Reason != "" {
		fmt.Fprintf(w, "plan reason: %s\n", pl.Reason)
	}
}

func readSpec(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, spec.MaxSpecBytes+1))
	}
	return os.ReadFile(path)
}

// printErr prints a typed error with each field on its own line.
func printErr(stderr io.Writer, err error) {
	var e *errcode.Error
	if errors.As(err, &e) {
		fmt.Fprintf(stderr, "stickerctl: %s: %s\n", e.Code, e.Message)
		if len(e.Fields) > 1 || (len(e.Fields) == 1 && e.Message != e.Fields[0].Field+": "+e.Fields[0].Message) {
			for _, f := range e.Fields {
				fmt.Fprintf(stderr, "  %s: %s\n", f.Field, f.Message)
			}
		}
		return
	}
	fmt.Fprintf(stderr, "stickerctl: %v\n", err)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// shellQuote renders args so that a shell user can paste them.
func shellQuote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r == '=' || r == '+' ||
				r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) < 0 {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}
