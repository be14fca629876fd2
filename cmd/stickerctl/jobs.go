package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// jobArgs parses the flags of a command that takes one JOB_ID. When ok is
// false the command ends with exit status code.
func jobArgs(name, synopsis string, args []string, stdout, stderr io.Writer, withJSON bool) (srv *serverOpts, id stickerd.JobID, asJSON bool, code int, ok bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	srv = serverFlags(fs)
	if withJSON {
		fs.BoolVar(&asJSON, "json", false, "print the job as JSON")
	}
	positional, code, ok := parseArgs(fs, args, synopsis, stdout, stderr)
	if !ok {
		return nil, "", false, code, false
	}
	if len(positional) != 1 {
		fmt.Fprintf(stderr, "stickerctl %s: need exactly one JOB_ID\n", name)
		return nil, "", false, exitUsage, false
	}
	return srv, stickerd.JobID(positional[0]), asJSON, exitOK, true
}

func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	srv, id, asJSON, code, ok := jobArgs("status", statusSynopsis, args, stdout, stderr, true)
	if !ok {
		return code
	}
	c, ok := srv.client(stderr)
	if !ok {
		return exitUsage
	}
	job, err := c.GetRender(ctx, id)
	if err != nil {
		return reportErr(stderr, srv.url, err, exitFailed)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(job)
		return exitOK
	}
	printJob(stdout, job)
	return exitOK
}

// printJob shows a job in a few lines a person can read.
func printJob(w io.Writer, j *stickerd.Job) {
	fmt.Fprintf(w, "%s  %s  %.0f%%\n", j.ID, j.Status, j.Progress*100)
	worker := "-"
	if j.Worker != nil {
		worker = *j.Worker
	}
	fmt.Fprintf(w, "  priority %s, attempts %d, worker %s\n", j.Priority, j.Attempts, worker)
	fmt.Fprintf(w, "  created %s, started %s, finished %s\n", when(&j.CreatedAt), when(j.StartedAt), when(j.FinishedAt))
	if o := j.Output; o != nil {
		fmt.Fprintf(w, "  output %s %dx%d, %.2f s, %d bytes: %s\n", o.Format, o.Width, o.Height, o.Duration, o.Bytes, o.URL)
	}
	if p := j.Plan; p != nil {
		fmt.Fprintf(w, "  plan %s\n", describePlan(*p))
	}
	if e := j.Error; e != nil {
		fmt.Fprintf(w, "  error %s: %s\n", e.Code, e.Message)
	}
	if tl := describeTimings(j.Timings); tl != "" {
		fmt.Fprintf(w, "  timeline %s\n", tl)
	}
	if j.TraceID != "" {
		fmt.Fprintf(w, "  trace %s\n", j.TraceID)
	}
}

// describeTimings says where a job's time went: each phase's length, from
// queued to finished, as far as the job got.
func describeTimings(t stickerd.Timings) string {
	queued := t.Queued
	steps := []struct {
		name     string
		from, to *time.Time
	}{{"queued", &queued, t.Assigned}, {"fetch", t.Started, t.InputsFetched}, {"encode", t.InputsFetched, t.Encoded},
		{"store", t.Encoded, t.Stored}}
	var parts []string
	for _, s := range steps {
		if s.from != nil && s.to != nil && !s.from.IsZero() {
			parts = append(parts, fmt.Sprintf("%s %s", s.name, seconds(s.to.Sub(*s.from))))
		}
	}
	if t.Finished != nil && !queued.IsZero() {
		parts = append(parts, "total "+seconds(t.Finished.Sub(queued)))
	}
	return strings.Join(parts, ", ")
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func cancelCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	srv, id, _, code, ok := jobArgs("cancel", cancelSynopsis, args, stdout, stderr, false)
	if !ok {
		return code
	}
	c, ok := srv.client(stderr)
	if !ok {
		return exitUsage
	}
	job, err := c.CancelRender(ctx, id)
	if stickerd.IsStatus(err, 409) {
		// Say what it ended as, which is what the person wants to know.
		if j, gerr := c.GetRender(ctx, id); gerr == nil {
			fmt.Fprintf(stderr, "stickerctl: %s already ended: %s\n", id, j.Status)
			return exitFailed
		}
	}
	if err != nil {
		return reportErr(stderr, srv.url, err, exitFailed)
	}
	fmt.Fprintf(stdout, "%s %s\n", job.ID, job.Status)
	return exitOK
}

func stickersCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stickers", flag.ContinueOnError)
	srv := serverFlags(fs)
	asJSON := fs.Bool("json", false, "print the catalogue as JSON")
	positional, code, ok := parseArgs(fs, args, stickersSynopsis, stdout, stderr)
	if !ok {
		return code
	}
	if len(positional) > 0 {
		fmt.Fprintln(stderr, "stickerctl stickers: takes no arguments")
		return exitUsage
	}
	c, ok := srv.client(stderr)
	if !ok {
		return exitUsage
	}
	list, err := c.Stickers(ctx)
	if err != nil {
		return reportErr(stderr, srv.url, err, exitFailed)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(list)
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTITLE\tKIND\tTAGS")
	for _, s := range list {
		kind := "still " + s.Format
		if s.Animated {
			kind = fmt.Sprintf("animated %s, %d frames, %.2f s", s.Format, s.Frames, s.Duration)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Title, kind, strings.Join(s.Tags, " "))
	}
	tw.Flush()
	return exitOK
}

// describePlan is a plan in one line: the mode, its parts and workers,
// what was encoded and copied, and why it was not smarter.
func describePlan(p stickerd.Plan) string {
	s := fmt.Sprintf("%s: %d segment(s) on %d worker(s), %.1f s encoded, %.1f s copied", p.Mode, p.Segments, max(p.Workers, 1),
		p.EncodedSeconds, p.CopiedSeconds)
	if p.Reason != "" {
		s += " (" + p.Reason + ")"
	}
	return s
}
