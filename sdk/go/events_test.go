package stickerd

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

func TestReadEvents(t *testing.T) {
	type got struct {
		Type     string
		Status   Status
		Progress float64
		ID       string
	}
	tests := []struct {
		name   string
		stream string
		want   []got
		err    error
	}{
		{"status, progress, terminal status",
			": hello\n\nevent: status\ndata: {\"id\":\"job_1\",\"status\":\"running\"}\n\n" +
				"event: progress\nid: 7\ndata: {\"id\":\"job_1\",\"progress\":0.5}\n\n" +
				"event: status\ndata: {\"id\":\"job_1\",\"status\":\"succeeded\",\"progress\":1}\n\n" +
				"event: status\ndata: {\"id\":\"job_1\",\"status\":\"ignored\"}\n\n",
			[]got{{"status", StatusRunning, 0, ""}, {"progress", "", 0.5, "7"}, {"status", StatusSucceeded, 1, "7"}}, nil},
		{"CRLF lines, bare number, no space after colon",
			"event:progress\r\ndata:0.25\r\n\r\nevent: status\r\ndata: {\"status\":\"failed\"}\r\n\r\n",
			[]got{{"progress", "", 0.25, ""}, {"status", StatusFailed, 0, ""}}, nil},
		{"data on several lines",
			"event: status\ndata: {\"status\":\ndata: \"canceled\"}\n\n",
			[]got{{"status", StatusCanceled, 0, ""}}, nil},
		{"unknown types pass, blank events are skipped",
			"event: ping\n\nevent: hello\ndata: world\n\n",
			[]got{{"hello", "", 0, ""}}, ErrStreamEnded},
		{"ends before the job", "event: progress\ndata: 0.1\n\n",
			[]got{{"progress", "", 0.1, ""}}, ErrStreamEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []got
			err := readEvents(strings.NewReader(tt.stream), func(ev Event) error {
				g := got{Type: ev.Type, Progress: ev.Progress, ID: ev.ID}
				if ev.Job != nil {
					g.Status = ev.Job.Status
				}
				events = append(events, g)
				if ev.Job != nil && ev.Job.Status.Terminal() {
					return errTerminal
				}
				return nil
			})
			if !errors.Is(err, tt.err) || !reflect.DeepEqual(events, tt.want) {
				t.Fatalf("events %+v, err %v; want %+v, %v", events, err, tt.want, tt.err)
			}
		})
	}
	t.Run("malformed job", func(t *testing.T) {
		err := readEvents(strings.NewReader("event: status\ndata: {\"status\":3}\n\n"), func(Event) error { return nil })
		if err == nil || errors.Is(err, ErrStreamEnded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("the callback's error ends it", func(t *testing.T) {
		stop := errors.New("stop")
		if err := readEvents(strings.NewReader("data: 1\n\ndata: 2\n\n"), func(Event) error { return stop }); err != stop {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestWait(t *testing.T) {
	tests := []struct {
		name     string
		cfg      stickerdtest.Config
		status   Status
		progress []float64
		code     string
		polled   bool
	}{
		{"events to success", stickerdtest.Config{Steps: []float64{0.3, 0.6}}, StatusSucceeded, []float64{0, 0.3, 0.6, 1}, "", false},
		{"events to failure", stickerdtest.Config{Steps: []float64{0.5}, Fail: &stickerdtest.JobError{Code: "FFMPEG_FAILED", Message: "boom"}},
			StatusFailed, []float64{0, 0.5}, "FFMPEG_FAILED", false},
		{"broken stream falls back to polling", stickerdtest.Config{Steps: []float64{0.2, 0.4, 0.8}, BreakEventsAfter: 3},
			StatusSucceeded, []float64{0, 0.2, 0.4, 0.8, 1}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := newFake(t, tt.cfg)
			j := submitted(t, c)
			var progress []float64
			got, err := c.Wait(testCtx(t), j.ID, func(f float64) { progress = append(progress, f) })
			if err != nil || got.Status != tt.status || (tt.code != "" && !IsCode(got.Err(), tt.code)) {
				t.Fatalf("job %+v, err %v", got, err)
			}
			if !reflect.DeepEqual(progress, tt.progress) {
				t.Errorf("progress %v, want %v", progress, tt.progress)
			}
			polled := false
			for _, r := range fake.Requests() {
				polled = polled || r == "GET /v1/renders/"+string(j.ID)
			}
			if polled != tt.polled {
				t.Errorf("polled = %v, want %v: %v", polled, tt.polled, fake.Requests())
			}
		})
	}
	t.Run("no such job", func(t *testing.T) {
		_, c, _ := newFake(t, stickerdtest.Config{})
		if _, err := c.Wait(testCtx(t), "job_nope", nil); !IsStatus(err, http.StatusNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("context ends while held", func(t *testing.T) {
		_, c, _ := newFake(t, stickerdtest.Config{Hold: true})
		j := submitted(t, c)
		ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
		defer cancel()
		if _, err := c.Wait(ctx, j.ID, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a cancel ends the stream", func(t *testing.T) {
		_, c, _ := newFake(t, stickerdtest.Config{Hold: true})
		j := submitted(t, c)
		go func() {
			time.Sleep(50 * time.Millisecond)
			c.CancelRender(context.Background(), j.ID)
		}()
		if got, err := c.Wait(testCtx(t), j.ID, nil); err != nil || got.Status != StatusCanceled {
			t.Fatalf("job %+v, err %v", got, err)
		}
	})
}
