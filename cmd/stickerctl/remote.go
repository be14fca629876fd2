package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// cancelTimeout bounds the DELETE sent after Ctrl-C.
const cancelTimeout = 5 * time.Second

// remoteRender renders a spec on a server: upload its files, submit, follow
// the progress, download the result.
type remoteRender struct {
	client *stickerd.Client
	server string
	stderr io.Writer
	quiet  bool
	bar    func(float64)
}

func (r *remoteRender) run(ctx context.Context, specPath, out string) int {
	data, err := readSpec(specPath)
	if err != nil {
		fmt.Fprintf(r.stderr, "stickerctl: %v\n", err)
		return exitUsage
	}
	dir := "."
	if specPath != "-" {
		dir = filepath.Dir(specPath)
	}
	start := time.Now()
	body, err := r.uploadPaths(ctx, data, dir)
	var pe *pathError
	if errors.As(err, &pe) {
		fmt.Fprintf(r.stderr, "stickerctl: SPEC_INVALID: %v\n", pe)
		return exitInvalid
	}
	if err != nil {
		return reportErr(r.stderr, r.server, err, exitInvalid)
	}
	job, cached, err := r.submit(ctx, body)
	if err != nil {
		return reportErr(r.stderr, r.server, err, exitInvalid)
	}
	if !job.Status.Terminal() {
		id := job.ID
		r.say("submitted %s", id)
		job, err = r.client.Wait(ctx, id, r.bar)
		r.bar(-1)
		if ctx.Err() != nil {
			return r.cancel(id)
		}
		if err != nil {
			return reportErr(r.stderr, r.server, err, exitFailed)
		}
	}
	if err := job.Err(); err != nil {
		fmt.Fprintf(r.stderr, "stickerctl: %s %s\n", job.ID, job.Status)
		return reportErr(r.stderr, r.server, err, exitFailed)
	}
	if err := r.download(ctx, job.ID, out); err != nil {
		return reportErr(r.stderr, r.server, err, exitFailed)
	}
	note := ""
	if cached {
		note = ", rendered before (cached)"
	}
	o := job.Output
	fmt.Fprintf(r.stderr, "wrote %s: %s %dx%d, %.2f s, %d bytes, job %s%s, in %.2f s\n",
		out, o.Format, o.Width, o.Height, o.Duration, o.Bytes, job.ID, note, time.Since(start).Seconds())
	return exitOK
}

// submit sends the spec with an Idempotency-Key derived from its bytes, so
// that running the command again after a network blip finds the job it
// already made instead of rendering twice. Such a job that failed or was
// canceled is submitted again, under a key derived from it.
func (r *remoteRender) submit(ctx context.Context, body []byte) (*stickerd.Job, bool, error) {
	key := idempotencyKey(body, "")
	for range 3 {
		job, cached, err := r.client.SubmitRender(ctx, json.RawMessage(body), stickerd.SubmitOption{IdempotencyKey: key})
		if err != nil || (job.Status != stickerd.StatusFailed && job.Status != stickerd.StatusCanceled) {
			return job, cached, err
		}
		r.say("%s, made from this spec before, is %s; submitting again", job.ID, job.Status)
		key = idempotencyKey(body, string(job.ID))
	}
	return nil, false, errors.New("the server keeps answering with jobs that ended badly")
}

// idempotencyKey is "stickerctl-" and a hash of the request (and of the
// earlier job it replaces, if any).
func idempotencyKey(body []byte, after string) string {
	h := sha256.New()
	h.Write(body)
	if after != "" {
		h.Write([]byte("\x00" + after))
	}
	return "stickerctl-" + hex.EncodeToString(h.Sum(nil))[:40]
}

// cancel asks the server to stop the job after Ctrl-C.
func (r *remoteRender) cancel(id stickerd.JobID) int {
	ctx, stop := context.WithTimeout(context.Background(), cancelTimeout)
	defer stop()
	if _, err := r.client.CancelRender(ctx, id); err != nil {
		fmt.Fprintf(r.stderr, "stickerctl: interrupted; canceling %s failed: %v\n", id, err)
	} else {
		fmt.Fprintf(r.stderr, "stickerctl: interrupted; canceled %s\n", id)
	}
	return exitCanceled
}

// download writes the output to out.partial and renames it to out once it
// is whole, so that out is never a truncated file.
func (r *remoteRender) download(ctx context.Context, id stickerd.JobID, out string) error {
	partial := out + ".partial"
	f, err := os.Create(partial)
	if err != nil {
		return err
	}
	_, err = r.client.DownloadOutput(ctx, id, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(partial, out)
	}
	if err != nil {
		os.Remove(partial)
	}
	return err
}

// say prints a line about what is going on, unless -q.
func (r *remoteRender) say(format string, args ...any) {
	if !r.quiet {
		fmt.Fprintf(r.stderr, "stickerctl: "+format+"\n", args...)
	}
}
