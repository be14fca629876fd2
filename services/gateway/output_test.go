package gateway

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
)

func TestOutput_RangeRequests(t *testing.T) {
	h := newHarness(t)
	var v publicJob
	decode(t, h.submit(canvasSpec("out")), 202, &v)
	id := string(v.ID)
	url := "/v1/renders/" + id + "/output"
	t.Run("409 until it succeeded", func(t *testing.T) {
		checkProblem(t, h.do("GET", url, nil), 409, errcode.Conflict)
	})
	data := []byte("0123456789abcdefghij")
	h.succeed(id, "webm", data)
	tests := []struct {
		name, method string
		header       []string
		status       int
		body, rng    string
	}{
		{"whole file", "GET", nil, 200, string(data), ""},
		{"a range", "GET", []string{"Range", "bytes=2-5"}, 206, "2345", "bytes 2-5/20"},
		{"a suffix", "GET", []string{"Range", "bytes=-3"}, 206, "hij", "bytes 17-19/20"},
		{"if-range matches", "GET", []string{"Range", "bytes=0-0", "If-Range", `"` + id + `"`}, 206, "0", "bytes 0-0/20"},
		{"if-range stale", "GET", []string{"Range", "bytes=0-0", "If-Range", `"job_other"`}, 200, string(data), ""},
		{"unsatisfiable", "GET", []string{"Range", "bytes=50-60"}, 416, "", "bytes */20"},
		{"head", "HEAD", nil, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.do(tt.method, url, nil, tt.header...)
			body := readAll(t, resp.Body)
			if resp.StatusCode != tt.status || (tt.status != 416 && body != tt.body) {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if got := resp.Header.Get("Content-Range"); got != tt.rng {
				t.Fatalf("Content-Range %q, want %q", got, tt.rng)
			}
			if tt.status == 416 {
				return
			}
			if resp.Header.Get("Content-Type") != "video/webm" || resp.Header.Get("Accept-Ranges") != "bytes" ||
				resp.Header.Get("Content-Disposition") != `attachment; filename="`+id+`.webm"` {
				t.Fatalf("headers %v", resp.Header)
			}
			if tt.method == "HEAD" && resp.Header.Get("Content-Length") != strconv.Itoa(len(data)) {
				t.Fatalf("HEAD Content-Length %q", resp.Header.Get("Content-Length"))
			}
		})
	}
	t.Run("a deleted output is gone", func(t *testing.T) {
		j, _ := h.store.Get(h.ctx(), jobs.ID(id))
		h.blobs.Delete(context.Background(), j.Output.Key)
		checkProblem(t, h.do("GET", url, nil), http.StatusGone, errcode.OutputGone)
	})
}
