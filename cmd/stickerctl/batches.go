package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// Synopses of the batch commands.
const (
	batchSynopsis       = "stickerctl batch submit|status|cancel …"
	batchSubmitSynopsis = "stickerctl batch submit [--server URL] [--api-key KEY] --template TEMPLATE_ID [--version N] [--webhook URL] [--no-wait] [-q] ROWS.csv"
	batchStatusSynopsis = "stickerctl batch status [--server URL] [--api-key KEY] [--json] BATCH_ID"
	batchCancelSynopsis = "stickerctl batch cancel [--server URL] [--api-key KEY] BATCH_ID"
)

func batchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: "+batchSynopsis)
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "submit":
		return batchSubmit(ctx, rest, stdout, stderr)
	case "status":
		return batchStatus(ctx, rest, stdout, stderr)
	case "cancel":
		return batchCancel(ctx, rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(stdout, "usage: %s\n\n  %s\n  %s\n  %s\n", batchSynopsis, batchSubmitSynopsis, batchStatusSynopsis, batchCancelSynopsis)
		return exitOK
	}
	fmt.Fprintf(stderr, "stickerctl batch: unknown command %q (submit, status, cancel)\n", sub)
	return exitUsage
}

// batchSubmit sends a CSV table of rows for a template, lists the rows the
// server rejected, follows the batch with a progress bar (rows ended out
// of all rows) and exits by its outcome: 0 when every row succeeded, 1
// when a row failed or was canceled, 3 when rows were rejected (or the
// whole batch was), 130 when interrupted (the batch goes on; cancel it
// with stickerctl batch cancel).
func batchSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("batch submit", flag.ContinueOnError)
	tpl := fs.String("template", "", "the template the rows fill (required)")
	version := fs.Int("version", 0, "the template version (default: the latest)")
	webhook := fs.String("webhook", "", "URL that receives the batch once it ends")
	noWait := fs.Bool("no-wait", false, "print the batch id and exit once it is accepted")
	quiet := fs.Bool("q", false, "no progress bar")
	cmd, code, ok := setup(fs, batchSubmitSynopsis, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	if *tpl == "" {
		fmt.Fprintln(stderr, "stickerctl batch submit: --template is required")
		return exitUsage
	}
	var rows io.Reader = os.Stdin
	if p := cmd.positional[0]; p != "-" {
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(stderr, "stickerctl: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		rows = f
	}
	b, err := cmd.client.SubmitBatchCSV(ctx, stickerd.TemplateID(*tpl), rows, stickerd.CSVOptions{TemplateVersion: *version, WebhookURL: *webhook})
	if err != nil {
		return reportErr(stderr, cmd.srv.url, err, exitInvalid)
	}
	fmt.Fprintf(stderr, "batch %s: %d rows, %d accepted, %d rejected (template %s version %d)\n",
		b.ID, b.Total, b.Accepted, len(b.Rejected), b.TemplateID, b.TemplateVersion)
	for _, r := range b.Rejected {
		for _, f := range r.Errors {
			fmt.Fprintf(stderr, "  row %d: %s: %s\n", r.Row, f.Field, f.Message)
		}
	}
	if *noWait {
		fmt.Fprintln(stdout, b.ID)
		return outcome(b, false)
	}
	bar := progressBar(stderr, *quiet)
	final, err := cmd.client.WaitBatch(ctx, b.ID, func(b *stickerd.Batch) {
		if b.Total > 0 {
			bar(float64(b.Done()) / float64(b.Total))
		}
	}, func(r *stickerd.BatchRow) {
		if r.Status != string(stickerd.StatusSucceeded) && r.Error != nil && !*quiet {
			bar(-1)
			fmt.Fprintf(stderr, "  row %d (%s) %s: %s: %s\n", r.Row, jobOf(r), r.Status, r.Error.Code, r.Error.Message)
		}
	})
	bar(-1)
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "stickerctl: interrupted; batch %s goes on (stickerctl batch cancel %s stops it)\n", b.ID, b.ID)
		return exitCanceled
	}
	if err != nil {
		return reportErr(stderr, cmd.srv.url, err, exitFailed)
	}
	printCounts(stderr, final)
	fmt.Fprintf(stdout, "%s %s\n", final.ID, final.Status)
	return outcome(final, true)
}

func jobOf(r *stickerd.BatchRow) string {
	if r.JobID == nil {
		return "-"
	}
	return string(*r.JobID)
}

// outcome is the exit code of a batch: ended says its counts are final.
func outcome(b *stickerd.Batch, ended bool) int {
	c := b.Counts
	switch {
	case ended && (c.Failed > 0 || c.Canceled > 0):
		return exitFailed
	case len(b.Rejected) > 0 || c.Rejected > 0:
		return exitInvalid
	}
	return exitOK
}

func printCounts(w io.Writer, b *stickerd.Batch) {
	c := b.Counts
	fmt.Fprintf(w, "batch %s %s: %d succeeded, %d failed, %d canceled, %d rejected, %d queued, %d running (of %d)\n",
		b.ID, b.Status, c.Succeeded, c.Failed, c.Canceled, c.Rejected, c.Queued, c.Running, b.Total)
}

func batchStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("batch status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the batch and its first rows as JSON")
	cmd, code, ok := setup(fs, batchStatusSynopsis, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	b, err := cmd.client.GetBatch(ctx, stickerd.BatchID(cmd.positional[0]), stickerd.PageOptions{})
	if err != nil {
		return reportErr(stderr, cmd.srv.url, err, exitFailed)
	}
	if *asJSON {
		printJSON(stdout, b)
		return exitOK
	}
	printCounts(stdout, b)
	return exitOK
}

func batchCancel(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("batch cancel", flag.ContinueOnError)
	cmd, code, ok := setup(fs, batchCancelSynopsis, args, 1, stdout, stderr)
	if !ok {
		return code
	}
	b, err := cmd.client.CancelBatch(ctx, stickerd.BatchID(cmd.positional[0]))
	if err != nil {
		return reportErr(stderr, cmd.srv.url, err, exitFailed)
	}
	printCounts(stdout, b)
	return exitOK
}
