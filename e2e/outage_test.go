package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/wiring"
	stickerd "github.com/stickerd/stickerd/sdk/go"
	"github.com/stickerd/stickerd/services/gateway"
)

// TestE2E_Outages takes the stack's dependencies away one after another —
// Redis, then Kafka, then etcd — and checks that the API never answers
// 500: without Redis and without Kafka jobs are still taken and done;
// without the state store the answer is 503 with Retry-After.
func TestE2E_Outages(t *testing.T) {
	needLong(t)
	needTool(t, "ffmpeg")
	redis := startRedis(t)
	e := ownEnv(t, func(c *wiring.Config) { c.Coord.RedisURL = redis.url() })
	if e.stack.Coord.Backend != "redis" {
		t.Fatalf("coordination backend %q, want redis", e.stack.Coord.Backend)
	}
	srv := e.gateway(t, func(c *gateway.Config) { c.StoreTimeout = time.Second }, nil)
	c := client(srv, "")
	spec := canvasSpec(uniq(t), "")
	var first *stickerd.Job

	// quick submits a spec and checks the answer came at once.
	quick := func(t *testing.T, spec string, opts ...stickerd.SubmitOption) (*stickerd.Job, bool) {
		t.Helper()
		start := time.Now()
		j, cached := submit(t, c, spec, opts...)
		if d := time.Since(start); d > 4*time.Second {
			t.Fatalf("the submit took %s", d)
		}
		return j, cached
	}
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"redis up: the cache answers", func(t *testing.T) {
			first, _ = quick(t, spec)
			if j := waitJob(t, c, first.ID, time.Minute); j.Status != stickerd.StatusSucceeded {
				t.Fatalf("job ended %s: %v", j.Status, j.Err())
			}
			if hit, cached := quick(t, spec); !cached || hit.ID != first.ID {
				t.Fatalf("with Redis up the same spec answered cached=%v %s", cached, hit.ID)
			}
		}},
		{"redis down: accepted, cache bypassed", func(t *testing.T) {
			redis.kill()
			failOpen := `stickerd_gateway_fail_open_total{dependency="cache"}`
			before := scrape(t, srv.URL, failOpen)
			again, cached := quick(t, spec)
			if cached || again.ID == first.ID || again.Status != stickerd.StatusQueued {
				t.Fatalf("with Redis down the same spec answered cached=%v %+v, want a new job", cached, again)
			}
			keyed, _ := quick(t, canvasSpec(uniq(t), ""), stickerd.SubmitOption{IdempotencyKey: "outage-" + uniq(t)})
			if after := scrape(t, srv.URL, failOpen); after <= before {
				t.Fatalf("%s stayed at %g", failOpen, after)
			}
			for _, id := range []stickerd.JobID{again.ID, keyed.ID} {
				if j := waitJob(t, c, id, time.Minute); j.Status != stickerd.StatusSucceeded {
					t.Fatalf("job %s ended %s: %v", id, j.Status, j.Err())
				}
			}
		}},
		{"kafka down: accepted and done", func(t *testing.T) {
			e.stack.Kafka.Close()
			j, _ := quick(t, canvasSpec(uniq(t), ""))
			if j := waitJob(t, c, j.ID, time.Minute); j.Status != stickerd.StatusSucceeded {
				t.Fatalf("job ended %s: %v", j.Status, j.Err())
			}
		}},
		{"state store down: 503 with Retry-After", func(t *testing.T) {
			e.stack.Etcd.Kill()
			job := "/v1/renders/" + string(first.ID)
			requests := []struct {
				name string
				do   func(t *testing.T) *http.Response
			}{
				{"submit", func(t *testing.T) *http.Response { return postJSON(t, srv.URL, canvasSpec(uniq(t), "")) }},
				{"get", func(t *testing.T) *http.Response { return do(t, "GET", srv.URL+job, nil) }},
				{"list", func(t *testing.T) *http.Response { return do(t, "GET", srv.URL+"/v1/renders", nil) }},
				{"events", func(t *testing.T) *http.Response { return do(t, "GET", srv.URL+job+"/events", nil) }},
				{"output", func(t *testing.T) *http.Response { return do(t, "GET", srv.URL+job+"/output", nil) }},
				{"cancel", func(t *testing.T) *http.Response { return do(t, "DELETE", srv.URL+job, nil) }},
				{"upload", func(t *testing.T) *http.Response {
					return do(t, "POST", srv.URL+"/v1/assets", bytes.NewReader(solidPNG(t, 8, 8, red)), "Content-Type", "image/png")
				}},
			}
			for _, r := range requests {
				t.Run(r.name, func(t *testing.T) {
					resp := r.do(t)
					checkProblem(t, resp, http.StatusServiceUnavailable, "STATE_STORE_UNAVAILABLE")
					retryAfter(t, resp)
				})
			}
			if resp := do(t, "GET", srv.URL+"/readyz", nil); resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("/readyz answered %d with the state store down", resp.StatusCode)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return // each step builds on the one before
		}
	}
}

// redisServer is a throwaway redis-server on a free loopback port, without
// persistence, killed with the test binary if that dies first.
type redisServer struct {
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin := needTool(t, "redis-server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), exited: make(chan struct{})}
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--loglevel", "warning")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(r.kill)
	deadline := time.Now().Add(5 * time.Second)
	for r.ping() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s does not answer", r.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

func (r *redisServer) url() string { return "redis://" + r.addr + "/0" }

func (r *redisServer) ping() error {
	c, err := net.DialTimeout("tcp", r.addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "+PONG\r\n" {
		return fmt.Errorf("redis answered %q", buf)
	}
	return nil
}

// kill stops the server as a crash would.
func (r *redisServer) kill() {
	select {
	case <-r.exited:
	default:
		r.cmd.Process.Kill()
		<-r.exited
	}
}
