package gateway

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

type sseEvent struct {
	name, data string
	comment    bool
}

// openEvents opens a job's event stream and parses it into events; the
// channel closes when the server ends the stream.
func openEvents(t *testing.T, h *harness, id jobs.ID) <-chan sseEvent {
	t.Helper()
	resp := h.do("GET", "/v1/renders/"+string(id)+"/events", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), readAll(t, resp.Body))
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = true
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// next returns the next event that is not a heartbeat.
func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the stream ended")
			}
			if !ev.comment {
				return ev
			}
		case <-timeout:
			t.Fatal("no event within 10s")
		}
	}
}

func wantStatus(t *testing.T, ch <-chan sseEvent, status jobs.Status) publicJob {
	t.Helper()
	ev := next(t, ch)
	var j publicJob
	if ev.name != "status" || json.Unmarshal([]byte(ev.data), &j) != nil || j.Status != status {
		t.Fatalf("event %+v, want status %s", ev, status)
	}
	return j
}

func wantProgress(t *testing.T, ch <-chan sseEvent, p float64) {
	t.Helper()
	ev := next(t, ch)
	var v struct{ Progress float64 }
	if ev.name != "progress" || json.Unmarshal([]byte(ev.data), &v) != nil || v.Progress != p {
		t.Fatalf("event %+v, want progress %g", ev, p)
	}
}

func wantEnd(t *testing.T, ch <-chan sseEvent) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("event %+v after the terminal status", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after the terminal status")
	}
}

func TestEvents_StatusAndProgressInOrder(t *testing.T) {
	cache := &memCache{}
	h := newHarness(t, withDeps(func(d *Deps) { d.Cache = cache }))
	var v publicJob
	decode(t, h.submit(canvasSpec("sse")), 202, &v)
	ch := openEvents(t, h, v.ID)
	wantStatus(t, ch, jobs.Queued)
	h.update(string(v.ID), func(j *jobs.Job) { j.Status, j.Progress, j.Attempts = jobs.Running, 0.1, 1 })
	if j := wantStatus(t, ch, jobs.Running); j.Progress != 0.1 {
		t.Fatalf("running status carries progress %g", j.Progress)
	}
	h.update(string(v.ID), func(j *jobs.Job) { j.Progress = 0.42 })
	wantProgress(t, ch, 0.42)
	h.update(string(v.ID), func(j *jobs.Job) { j.Progress = 0.75 })
	wantProgress(t, ch, 0.75)
	h.succeed(string(v.ID), "mp4", []byte("out"))
	if j := wantStatus(t, ch, jobs.Succeeded); j.Output == nil {
		t.Fatal("the succeeded status has no output")
	}
	wantEnd(t, ch)
	if cache.len() != 1 {
		t.Fatal("the stream saw the job succeed but wrote no cache entry")
	}
}

func TestEvents_ProgressFanOut(t *testing.T) {
	prog := &chanProgress{}
	h := newHarness(t, withDeps(func(d *Deps) { d.Progress = prog }))
	var v publicJob
	decode(t, h.submit(canvasSpec("fan-out")), 202, &v)
	h.update(string(v.ID), func(j *jobs.Job) { j.Status = jobs.Running })
	ch := openEvents(t, h, v.ID)
	wantStatus(t, ch, jobs.Running)
	var sub chan float64
	for deadline := time.Now().Add(5 * time.Second); sub == nil; time.Sleep(5 * time.Millisecond) {
		if sub = prog.sub(string(v.ID)); sub == nil && time.Now().After(deadline) {
			t.Fatal("the stream did not subscribe to progress")
		}
	}
	sub <- 0.25
	wantProgress(t, ch, 0.25)
	sub <- 0.2 // behind what was sent: dropped
	h.update(string(v.ID), func(j *jobs.Job) { j.Progress = 0.5 })
	wantProgress(t, ch, 0.5)
	h.update(string(v.ID), func(j *jobs.Job) {
		j.Status, j.Error = jobs.Failed, &jobs.Error{Code: "FFMPEG_FAILED", Message: "boom"}
	})
	if j := wantStatus(t, ch, jobs.Failed); j.Error == nil || j.Error.Code != "FFMPEG_FAILED" {
		t.Fatalf("failed status %+v", j)
	}
	wantEnd(t, ch)
}

func TestEvents_HeartbeatAndTerminalAtOpen(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.HeartbeatInterval = 20 * time.Millisecond }),
		withDeps(func(d *Deps) { d.Progress = &chanProgress{err: errRedisDown} }))
	var v publicJob
	decode(t, h.submit(canvasSpec("quiet")), 202, &v)
	ch := openEvents(t, h, v.ID)
	wantStatus(t, ch, jobs.Queued)
	select {
	case ev := <-ch:
		if !ev.comment {
			t.Fatalf("event %+v, want a heartbeat comment", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat")
	}
	// A failing progress fan-out falls back to the store.
	h.update(string(v.ID), func(j *jobs.Job) { j.Status = jobs.Running })
	wantStatus(t, ch, jobs.Running)
	h.update(string(v.ID), func(j *jobs.Job) { j.Progress = 0.3 })
	wantProgress(t, ch, 0.3)

	decode(t, h.do("DELETE", "/v1/renders/"+string(v.ID), nil), 202, nil)
	h.update(string(v.ID), func(j *jobs.Job) { j.Status = jobs.Canceled })
	wantStatus(t, ch, jobs.Canceled)
	wantEnd(t, ch)

	again := openEvents(t, h, v.ID)
	wantStatus(t, again, jobs.Canceled)
	wantEnd(t, again)
}
