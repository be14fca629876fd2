package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// occupyWorker keeps the main stack's only worker busy for a moment and
// returns once it renders, so that the next job is still queued when its
// event stream opens.
func occupyWorker(t *testing.T, c *stickerd.Client) stickerd.JobID {
	t.Helper()
	spec := fmt.Sprintf(`{"source":{"color":"#202020","width":1280,"height":720,"duration":3,"fps":30},
		"stickers":[{"type":"image","builtin":"confetti","width":0.5}],"metadata":{"nonce":%q}}`, uniq(t))
	j, _ := submit(t, c, spec)
	ctx := testCtx(t, 30*time.Second)
	waitFor(t, 30*time.Second, "the blocking job to start", func() bool {
		g, err := c.GetRender(ctx, j.ID)
		return err == nil && g.Status != stickerd.StatusQueued
	})
	return j.ID
}

// TestE2E_RenderThroughHTTP is the whole path over HTTP: uploads, a spec
// naming them, the event stream to the end, the download (and a Range of
// it) and the sticker in the decoded pixels.
func TestE2E_RenderThroughHTTP(t *testing.T) {
	e := mainEnv(t)
	c := client(e.open, "")
	ctx := testCtx(t, 2*time.Minute)
	dir := t.TempDir()

	src := filepath.Join(dir, "source.mp4")
	makeVideo(t, src, 640, 360, 4)
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	video, err := c.UploadAsset(ctx, "source.mp4", f)
	if err != nil {
		t.Fatal(err)
	}
	if video.Kind != "video" || video.Width != 640 || video.Height != 360 || math.Abs(video.Duration-4) > 0.1 {
		t.Fatalf("video asset %+v", video)
	}
	sticker, err := c.UploadAssetRaw(ctx, "image/png", bytes.NewReader(solidPNG(t, 64, 64, red)))
	if err != nil {
		t.Fatal(err)
	}
	if sticker.Kind != "image" || sticker.Width != 64 || sticker.Height != 64 {
		t.Fatalf("sticker asset %+v", sticker)
	}
	spec := fmt.Sprintf(`{"source":{"asset_id":%q},
		"stickers":[{"type":"image","asset_id":%q,"x":0.25,"y":0.5,"width":0.2}],
		"output":{"format":"mp4"},"metadata":{"nonce":%q}}`, video.ID, sticker.ID, uniq(t))

	blocker := occupyWorker(t, c)
	job, cached := submit(t, c, spec)
	if cached || job.Status != stickerd.StatusQueued {
		t.Fatalf("submit answered cached=%v %+v", cached, job)
	}
	var statuses []stickerd.Status
	progress := 0
	err = c.Events(ctx, job.ID, func(ev stickerd.Event) error {
		switch {
		case ev.Type == "status" && ev.Job != nil:
			statuses = append(statuses, ev.Job.Status)
		case ev.Type == "progress":
			progress++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("event stream: %v", err)
	}
	want := []stickerd.Status{stickerd.StatusQueued, stickerd.StatusRunning, stickerd.StatusSucceeded}
	if !slices.Equal(statuses, want) || progress < 1 {
		t.Fatalf("status events %v with %d progress events, want %v and progress", statuses, progress, want)
	}
	t.Logf("events: %v and %d progress events (blocker %s)", statuses, progress, blocker)

	done, err := c.GetRender(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	o := done.Output
	if done.Status != stickerd.StatusSucceeded || o == nil || o.Format != "mp4" || o.Width != 640 || o.Height != 360 ||
		math.Abs(o.Duration-4) > 0.2 || o.Bytes == 0 || done.Metadata["nonce"] == "" {
		t.Fatalf("finished job %+v output %+v", done, o)
	}
	var file bytes.Buffer
	if n, err := c.DownloadOutput(ctx, job.ID, &file); err != nil || n != o.Bytes {
		t.Fatalf("download: %d bytes of %d: %v", n, o.Bytes, err)
	}
	out := filepath.Join(dir, "out.mp4")
	if err := os.WriteFile(out, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("range request", func(t *testing.T) {
		resp := do(t, http.MethodGet, e.open.URL+o.URL, nil, "Range", "bytes=100-199")
		var part bytes.Buffer
		part.ReadFrom(resp.Body)
		wantRange := "bytes 100-199/" + strconv.FormatInt(o.Bytes, 10)
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != wantRange ||
			!bytes.Equal(part.Bytes(), file.Bytes()[100:200]) {
			t.Fatalf("range answer %d %q (%d bytes), want 206 %q", resp.StatusCode, resp.Header.Get("Content-Range"), part.Len(), wantRange)
		}
	})
	t.Run("pixels", func(t *testing.T) {
		if got := streams(t, out); got != "video,audio" {
			t.Fatalf("output streams %s, want video,audio", got)
		}
		// The sticker is 0.2 of 640 px wide (128 px square) centred at
		// (0.25, 0.5); elsewhere the output is the source.
		rendered, source := decodeFrame(t, out, 2, 640, 360), decodeFrame(t, src, 2, 640, 360)
		for _, p := range [][2]float64{{0.25, 0.5}, {0.2, 0.4}, {0.3, 0.6}} {
			if px := rendered.at(p[0], p[1]); !isRed(px) {
				t.Fatalf("pixel at %v is %v, want the red sticker", p, px)
			}
		}
		for _, p := range [][2]float64{{0.25, 0.15}, {0.75, 0.5}, {0.4, 0.5}} {
			if a, b := rendered.at(p[0], p[1]), source.at(p[0], p[1]); !closeTo(a, b, 40) {
				t.Fatalf("pixel at %v is %v, the source's is %v: drawn where no sticker is", p, a, b)
			}
		}
	})
}

// TestE2E_IdempotencyAndCache: an Idempotency-Key returns its job for
// the same body and 409 for another; an identical request after success is
// answered 200 from the result cache without a new job.
func TestE2E_IdempotencyAndCache(t *testing.T) {
	e := mainEnv(t)
	c := client(e.open, "")
	ctx := testCtx(t, time.Minute)
	spec, other := canvasSpec(uniq(t), ""), canvasSpec(uniq(t)+"-other", "")
	key := stickerd.SubmitOption{IdempotencyKey: "e2e-" + uniq(t)}

	first, _ := submit(t, c, spec, key)
	again, _ := submit(t, c, spec, key)
	if again.ID != first.ID {
		t.Fatalf("same key and body: job %s, then %s", first.ID, again.ID)
	}
	p := checkProblem(t, postJSON(t, e.open.URL, other, "Idempotency-Key", key.IdempotencyKey), http.StatusConflict, "")
	t.Logf("same key, other body: %d %s: %s", p.Status, p.Code, p.Detail)

	if j := waitJob(t, c, first.ID, time.Minute); j.Status != stickerd.StatusSucceeded {
		t.Fatalf("job ended %s: %v", j.Status, j.Err())
	}
	before, err := c.ListRenders(ctx, stickerd.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	hit, cached := submit(t, c, spec)
	if !cached || hit.ID != first.ID || hit.Status != stickerd.StatusSucceeded || hit.Output == nil {
		t.Fatalf("identical request after success: cached=%v %+v, want 200 with %s", cached, hit, first.ID)
	}
	resp := postJSON(t, e.open.URL, spec)
	decode(t, resp, http.StatusOK, nil)
	after, err := c.ListRenders(ctx, stickerd.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Items) != len(before.Items) || after.Items[0].ID != before.Items[0].ID {
		t.Fatalf("a cache hit made a job: %d jobs before, %d after (newest %s, then %s)",
			len(before.Items), len(after.Items), before.Items[0].ID, after.Items[0].ID)
	}
}

// longSpec renders for many seconds on a small machine.
func longSpec(nonce string) string {
	return fmt.Sprintf(`{"source":{"color":"#000000","width":1280,"height":720,"duration":30,"fps":30},
		"stickers":[{"type":"image","builtin":"confetti","animation":"spin"}],"output":{"quality":"high"},
		"metadata":{"nonce":%q}}`, nonce)
}

// TestE2E_CancelRunningRender cancels through DELETE while ffmpeg runs:
// the job ends canceled, its event stream ends with it and no ffmpeg is
// left.
func TestE2E_CancelRunningRender(t *testing.T) {
	e := mainEnv(t)
	c := client(e.open, "")
	ctx := testCtx(t, time.Minute)
	workDir := e.cfg.Worker.WorkDir
	e.waitIdle(t)

	job, _ := submit(t, c, longSpec(uniq(t)))
	// A test that stops early must not leave a long render to the next ones.
	t.Cleanup(func() { c.CancelRender(context.Background(), job.ID) })
	type result struct {
		last *stickerd.Job
		err  error
	}
	streamed := make(chan result, 1)
	go func() {
		var last *stickerd.Job
		err := c.Events(ctx, job.ID, func(ev stickerd.Event) error {
			if ev.Job != nil {
				last = ev.Job
			}
			return nil
		})
		streamed <- result{last, err}
	}()
	waitFor(t, 30*time.Second, "ffmpeg to run", func() bool { return ffmpegsUnder(workDir) == 1 })
	waitFor(t, 10*time.Second, "progress", func() bool {
		j, err := c.GetRender(ctx, job.ID)
		return err == nil && j.Status == stickerd.StatusRunning && j.Progress > 0
	})

	var accepted stickerd.Job
	decode(t, do(t, http.MethodDelete, e.open.URL+"/v1/renders/"+string(job.ID), nil), http.StatusAccepted, &accepted)
	if accepted.ID != job.ID || accepted.Status.Terminal() && accepted.Status != stickerd.StatusCanceled {
		t.Fatalf("DELETE answered %+v", accepted)
	}
	select {
	case r := <-streamed:
		if r.err != nil || r.last == nil || r.last.Status != stickerd.StatusCanceled {
			t.Fatalf("the event stream ended with %+v: %v", r.last, r.err)
		}
		if r.last.Error == nil || r.last.Error.Code != "CANCELED" {
			t.Fatalf("canceled job's error %+v", r.last.Error)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the event stream did not end with the cancel")
	}
	if j, err := c.GetRender(ctx, job.ID); err != nil || j.Status != stickerd.StatusCanceled || j.Output != nil {
		t.Fatalf("after the cancel: %+v %v", j, err)
	}
	waitFor(t, 5*time.Second, "ffmpeg to be gone", func() bool { return ffmpegsUnder(workDir) == 0 })

	checkProblem(t, do(t, http.MethodDelete, e.open.URL+"/v1/renders/"+string(job.ID), nil), http.StatusConflict, "")
	checkProblem(t, do(t, http.MethodGet, e.open.URL+"/v1/renders/"+string(job.ID)+"/output", nil), http.StatusConflict, "")
}
