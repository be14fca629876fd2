package wiring

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
)

// A source URL that cannot succeed on another attempt fails the job on
// the first one, with a message that shows no internal address; one that
// may (a refused connection) is retried.
func TestPipeline_SourceURLFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	_, closedPort, _ := net.SplitHostPort(closed.Addr().String())

	cfg := testConfig(t)
	cfg.Worker.AllowPrivateURLs = true
	cfg.Scheduler.MaxAttempts = 3
	s := start(t, cfg)
	spec := func(url string) string {
		return `{"source":{"url":"` + url + `"},"stickers":[{"type":"image","builtin":"heart"}]}`
	}
	missing := submitJob(t, s, spec("http://localhost:"+port+"/missing.mp4"))
	refused := submitJob(t, s, spec("http://localhost:"+closedPort+"/a.mp4"))
	waitTerminal(t, s, 60*time.Second, missing.ID, refused.ID)

	got := get(t, s, missing.ID)
	if got.Status != jobs.Failed || got.Attempts != 1 || got.Error == nil || got.Error.Code != string(errcode.AssetFetchFailed) {
		t.Fatalf("404 source: job %+v error %+v, want failed after 1 attempt with ASSET_FETCH_FAILED", got, got.Error)
	}
	for _, leak := range []string{"127.0.0.1", "[::1]", "dial tcp", cfg.DataDir} {
		if strings.Contains(got.Error.Message, leak) {
			t.Fatalf("message %q shows %q", got.Error.Message, leak)
		}
	}
	if !strings.Contains(got.Error.Message, "404") || !strings.Contains(got.Error.Message, "source") {
		t.Fatalf("message %q does not say what failed", got.Error.Message)
	}
	got = get(t, s, refused.ID)
	if got.Status != jobs.Failed || got.Attempts != 3 || got.Error == nil || got.Error.Code != "ATTEMPTS_EXHAUSTED" ||
		strings.Contains(got.Error.Message, "127.0.0.1") {
		t.Fatalf("refused source: job %+v error %+v, want 3 attempts", got, got.Error)
	}
}
