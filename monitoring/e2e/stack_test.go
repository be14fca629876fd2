package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
	"github.com/stickerd/stickerd/services/webhook"
)

// devStack is what `stickerd dev` runs (the pipeline, the monitor and the
// gateway in one process) on free loopback ports with short timers.
type devStack struct {
	*wiring.Stack
	// API is the gateway's base URL; it also serves GET /metrics.
	API  string
	Addr string // host:port of API
}

// startDev starts the stack with workers real-ffmpeg workers and serves
// its gateway; both stop when the test ends. Its logs are shown on failure.
func startDev(t *testing.T, workers int) *devStack {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack log (tail):\n%s", logs.Tail(8000))
		}
	})

	cfg := wiring.DefaultConfig(t.TempDir())
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs, cfg.Etcd.InitialCluster = clients, peers, ""
	cfg.KafkaListen, cfg.SchedulerListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Log, cfg.Monitor, cfg.Workers = log, true, workers
	sc := &cfg.Scheduler
	sc.HeartbeatInterval, sc.HeartbeatTTL, sc.HeartbeatGrace, sc.HeartbeatJitter = 100*time.Millisecond, 600*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
	sc.ElectionTTL, sc.SweepInterval, sc.SweepAge = time.Second, 300*time.Millisecond, 500*time.Millisecond
	sc.BackoffBase, sc.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	// The alert test kills the worker of each long render as a whole job;
	// split across workers, a render has no worker of its own to kill
	// (burst rendering's own tests kill a part's).
	sc.SplitMinSeconds = 0
	cfg.Worker.ReconnectMin, cfg.Worker.ReconnectMax = 20*time.Millisecond, 200*time.Millisecond
	cfg.Worker.ResendAfter = 300 * time.Millisecond
	cfg.Worker.Concurrency = 1
	// --allow-private-urls: URL sources and webhooks on loopback test servers.
	cfg.Worker.AllowPrivateURLs, cfg.Webhook.AllowPrivate = true, true
	cfg.Webhook.Secret = webhook.NewSecret()
	cfg.Webhook.MaxAttempts, cfg.Webhook.Timeout = 2, 2*time.Second
	cfg.Webhook.BackoffBase, cfg.Webhook.BackoffMax = 50*time.Millisecond, 100*time.Millisecond

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := wiring.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	gcfg := gateway.DefaultConfig()
	gcfg.Loopback, gcfg.AllowPrivateURLs = true, true
	c := s.Coord
	g, err := s.Gateway(wiring.GatewayOptions{Config: gcfg, Log: log,
		Coord: wiring.Coord{Cache: c.Cache, Limiter: c.Limiter, Idempotency: c.Idempotency, Progress: c.Progress}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler()) // 127.0.0.1:0
	t.Cleanup(srv.Close)

	d := &devStack{Stack: s, API: srv.URL, Addr: strings.TrimPrefix(srv.URL, "http://")}
	waitUntil(t, 30*time.Second, "a leader with every worker", func() (bool, error) {
		l := s.Leader()
		return l != nil && len(l.Scheduler.Workers()) == workers, nil
	})
	return d
}

// job is the part of a GET /v1/renders/{id} answer the test reads.
type job struct {
	ID       string  `json:"id"`
	Status   string  `json:"status"`
	Attempts int     `json:"attempts"`
	Worker   *string `json:"worker"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (j job) terminal() bool {
	return j.Status == "succeeded" || j.Status == "failed" || j.Status == "canceled"
}

// submit POSTs a render request and returns the accepted job.
func (d *devStack) submit(t *testing.T, spec string) job {
	t.Helper()
	var j job
	code := d.do(t, http.MethodPost, "/v1/renders", []byte(spec), &j)
	if code != http.StatusAccepted || j.ID == "" {
		t.Fatalf("POST /v1/renders %s: HTTP %d, job %+v", spec, code, j)
	}
	return j
}

func (d *devStack) get(t *testing.T, id string) job {
	t.Helper()
	var j job
	if code := d.do(t, http.MethodGet, "/v1/renders/"+id, nil, &j); code != http.StatusOK {
		t.Fatalf("GET /v1/renders/%s: HTTP %d", id, code)
	}
	return j
}

func (d *devStack) cancel(t *testing.T, id string) {
	t.Helper()
	if code := d.do(t, http.MethodDelete, "/v1/renders/"+id, nil, nil); code >= 300 && code != http.StatusConflict {
		t.Fatalf("DELETE /v1/renders/%s: HTTP %d", id, code)
	}
}

// do sends one API request and decodes a JSON answer into out.
func (d *devStack) do(t *testing.T, method, path string, body []byte, out any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, d.API+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusConflict {
		t.Logf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// waitJob polls a job until cond holds.
func (d *devStack) waitJob(t *testing.T, id string, within time.Duration, what string, cond func(job) bool) job {
	t.Helper()
	var j job
	waitUntil(t, within, fmt.Sprintf("job %s %s", id, what), func() (bool, error) {
		j = d.get(t, id)
		return cond(j), nil
	})
	return j
}

// proc returns the in-process worker with this id.
func (d *devStack) proc(t *testing.T, id string) *wiring.WorkerProc {
	t.Helper()
	for _, w := range d.Workers {
		if w.Worker.ID() == id {
			return w
		}
	}
	t.Fatalf("no worker %s", id)
	return nil
}

// waitUntil polls cond every 100ms until it holds, fails or within passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last error: %v)", within, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
