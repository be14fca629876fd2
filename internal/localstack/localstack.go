package localstack

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
)

// readyTimeout bounds the wait for a leading scheduler with every worker.
const readyTimeout = 30 * time.Second

// Options shape a stack; the zero value is `stickerd dev` on loopback.
type Options struct {
	// Stack changes the stack's configuration before it starts.
	Stack func(*wiring.Config)
	// Gateway changes the gateway's configuration (Loopback is set).
	Gateway func(*gateway.Config)
	// NoRateLimit leaves the stack's rate limiter out of the gateway, so
	// that only the work of a request bounds the rate.
	NoRateLimit bool
	// WebUI mounts the studio, as `stickerd dev` does.
	WebUI bool
	// Handler, when set, wraps the gateway's handler.
	Handler func(http.Handler) http.Handler
}

// Server is a stack with its gateway on a loopback port.
type Server struct {
	Stack *wiring.Stack
	URL   string
	http  *http.Server
	// stopReads ends the gateway's job-record cache.
	stopReads context.CancelFunc
}

// Start starts a stack under dir on free loopback ports, waits for its
// leading scheduler to hold every worker, and serves its gateway. Logs
// below error level are left out.
func Start(ctx context.Context, dir string, o Options) (*Server, error) {
	cfg := wiring.DefaultConfig(dir)
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		return nil, err
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs = clients, peers
	cfg.KafkaListen, cfg.SchedulerListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	if o.Stack != nil {
		o.Stack(&cfg)
	}
	s, err := wiring.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	srv := &Server{Stack: s}
	deadline := time.Now().Add(readyTimeout)
	for l := s.Leader(); l == nil || len(l.Scheduler.Workers()) < len(s.Workers); l = s.Leader() {
		if time.Now().After(deadline) {
			srv.Close()
			return nil, errors.New("no leading scheduler with its workers after 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	g := gateway.DefaultConfig()
	g.Loopback = true
	if o.Gateway != nil {
		o.Gateway(&g)
	}
	co := wiring.Coord{Cache: s.Coord.Cache, Limiter: s.Coord.Limiter, Idempotency: s.Coord.Idempotency, Progress: s.Coord.Progress}
	if o.NoRateLimit {
		co.Limiter = nil
	}
	gctx, gcancel := context.WithCancel(ctx)
	srv.stopReads = gcancel
	gw, err := s.Gateway(wiring.GatewayOptions{Config: g, Coord: co, WebUI: o.WebUI, Context: gctx, Log: cfg.Log})
	if err != nil {
		srv.Close()
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	var h http.Handler = gw.Handler()
	if o.Handler != nil {
		h = o.Handler(h)
	}
	srv.URL = "http://" + lis.Addr().String()
	srv.http = health.NewServer(h, health.DefaultServerConfig())
	go srv.http.Serve(lis)
	return srv, nil
}

// Close stops the gateway, then the stack.
func (s *Server) Close() {
	if s.stopReads != nil {
		s.stopReads()
	}
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.http.Shutdown(ctx)
		cancel()
	}
	s.Stack.Close()
}
