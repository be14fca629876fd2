package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/sharedstate"
	"github.com/stickerd/stickerd/internal/wiring"
	stickerd "github.com/stickerd/stickerd/sdk/go"
	"github.com/stickerd/stickerd/services/gateway"
	"github.com/stickerd/stickerd/services/webhook"
)

// The tenants and keys of the keyed gateway.
const (
	tenantAcme, keyAcme     = "acme", "sk_e2e_acme"
	tenantGlobex, keyGlobex = "globex", "sk_e2e_globex"
)

// webhookSecret signs the webhooks of every stack of this package.
var webhookSecret = webhook.NewSecret()

// env is a running stack and gateways over it on real loopback listeners.
type env struct {
	dir   string
	stack *wiring.Stack
	cfg   wiring.Config
	// open is the `stickerd dev` default: loopback, no keys, the web UI.
	open    *httptest.Server
	servers []*httptest.Server
	log     *os.File
}

var (
	sharedOnce sync.Once
	shared     *env
	sharedErr  error
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial, and the Redis outage makes many.
	redis.SetLogger(quietLogger{})
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	os.Exit(code)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// mainEnv is the stack most tests share: one real ffmpeg worker rendering
// one job at a time, in-process coordination, webhooks to loopback
// allowed. It starts with the first test that asks for it.
func mainEnv(t *testing.T) *env {
	t.Helper()
	needLong(t)
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	sharedOnce.Do(func() {
		start := time.Now()
		shared, sharedErr = startEnv(nil)
		if sharedErr == nil {
			fmt.Fprintf(os.Stderr, "e2e: main stack up in %s (logs: %s)\n", time.Since(start).Round(time.Millisecond), shared.logPath())
		}
	})
	if sharedErr != nil {
		t.Fatalf("starting the main stack: %v", sharedErr)
	}
	return shared
}

// ownEnv starts a stack for one test, shaped by mutate; it stops with the test.
func ownEnv(t *testing.T, mutate func(*wiring.Config)) *env {
	t.Helper()
	needLong(t)
	e, err := startEnv(mutate)
	if err != nil {
		t.Fatalf("starting a stack: %v", err)
	}
	t.Cleanup(e.close)
	return e
}

func needLong(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: starts a whole stack")
	}
}

// stackConfig is a stack under dir on free loopback ports, with timers
// short enough for tests (as internal/wiring's own tests set them).
func stackConfig(dir string) (wiring.Config, error) {
	cfg := wiring.DefaultConfig(dir)
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		return cfg, err
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs, cfg.Etcd.InitialCluster = clients, peers, ""
	cfg.KafkaListen, cfg.SchedulerListen = "127.0.0.1:0", "127.0.0.1:0"
	s := &cfg.Scheduler
	s.HeartbeatInterval, s.HeartbeatTTL, s.HeartbeatGrace, s.HeartbeatJitter = 100*time.Millisecond, 600*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
	s.ElectionTTL, s.SweepInterval, s.SweepAge = time.Second, 300*time.Millisecond, 500*time.Millisecond
	s.BackoffBase, s.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	w := &cfg.Worker
	w.ReconnectMin, w.ReconnectMax, w.ResendAfter = 20*time.Millisecond, 200*time.Millisecond, 300*time.Millisecond
	w.Concurrency, w.ProgressInterval = 1, 50*time.Millisecond
	cfg.Webhook = webhook.DefaultConfig()
	cfg.Webhook.Secret, cfg.Webhook.AllowPrivate = webhookSecret, true
	cfg.Webhook.MaxAttempts, cfg.Webhook.BackoffBase, cfg.Webhook.BackoffMax = 3, 20*time.Millisecond, 100*time.Millisecond
	cfg.Webhook.Timeout = 2 * time.Second
	return cfg, nil
}

func startEnv(mutate func(*wiring.Config)) (_ *env, err error) {
	dir, err := os.MkdirTemp("", "stickerd-e2e-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.cfg, err = stackConfig(dir); err != nil {
		return nil, err
	}
	if e.log, err = os.Create(e.logPath()); err != nil {
		return nil, err
	}
	e.cfg.Log = slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if mutate != nil {
		mutate(&e.cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if e.stack, err = wiring.Start(ctx, e.cfg); err != nil {
		return nil, err
	}
	if err := e.waitReady(20 * time.Second); err != nil {
		return nil, err
	}
	gcfg := gateway.DefaultConfig()
	gcfg.Loopback = true
	if e.open, err = e.serve(gcfg, coordOf(e.stack.Coord)); err != nil {
		return nil, err
	}
	return e, nil
}

// waitReady waits for a leading scheduler that sees every worker.
func (e *env) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if l := e.stack.Leader(); l != nil && len(l.Scheduler.Workers()) == len(e.stack.Workers) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no leader with %d workers after %s", len(e.stack.Workers), d)
}

// waitIdle waits until no job is queued or running, so that a test owns
// the worker.
func (e *env) waitIdle(t *testing.T) {
	t.Helper()
	waitFor(t, time.Minute, "the stack to be idle", func() bool {
		l := e.stack.Leader()
		if l == nil || l.Scheduler.QueueDepth() > 0 {
			return false
		}
		for _, w := range e.stack.Workers {
			if len(w.Worker.Running()) > 0 {
				return false
			}
		}
		return true
	})
}

// serve starts another gateway over the stack, with the web UI, on a
// loopback listener.
func (e *env) serve(cfg gateway.Config, c wiring.Coord) (*httptest.Server, error) {
	g, err := e.stack.Gateway(wiring.GatewayOptions{Config: cfg, Coord: c, WebUI: true, Log: e.cfg.Log})
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(g.Handler())
	e.servers = append(e.servers, srv)
	return srv, nil
}

// gateway starts a gateway for one test: loopback, the stack's
// coordination unless c is given, the config changed by mutate.
func (e *env) gateway(t *testing.T, mutate func(*gateway.Config), c *wiring.Coord) *httptest.Server {
	t.Helper()
	cfg := gateway.DefaultConfig()
	cfg.Loopback = true
	if mutate != nil {
		mutate(&cfg)
	}
	co := coordOf(e.stack.Coord)
	if c != nil {
		co = *c
	}
	srv, err := e.serve(cfg, co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv
}

// keyedFromFile is a gateway whose API keys come from a file of
// tenant:key lines, as --api-keys-file reads it.
func (e *env) keyedFromFile(t *testing.T, path string) *httptest.Server {
	t.Helper()
	keys, err := gateway.LoadAPIKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	return e.gateway(t, func(c *gateway.Config) { c.APIKeys = keys }, nil)
}

func coordOf(c *sharedstate.Set) wiring.Coord {
	return wiring.Coord{Cache: c.Cache, Limiter: c.Limiter, Idempotency: c.Idempotency, Progress: c.Progress}
}

func (e *env) logPath() string { return filepath.Join(e.dir, "stack.log") }

func (e *env) close() {
	for _, s := range e.servers {
		s.CloseClientConnections() // event streams would hold Close
		s.Close()
	}
	if e.stack != nil {
		e.stack.Close()
	}
	if e.log != nil {
		e.log.Close()
	}
	os.RemoveAll(e.dir)
}

// client is an SDK client of srv; it never retries, so that the tests see
// every 429 and 503.
func client(srv *httptest.Server, key string) *stickerd.Client {
	return stickerd.New(srv.URL, stickerd.WithAPIKey(key), stickerd.WithHTTPClient(&http.Client{}),
		stickerd.WithRetries(-1, time.Second), stickerd.WithPollInterval(100*time.Millisecond))
}

// testCtx bounds one test's calls.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
