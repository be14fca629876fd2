package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
)

// server is a `stickerd dev` stack with its gateway on a loopback port.
type server struct {
	stack *wiring.Stack
	url   string
	http  *http.Server
	// stopReads ends the gateway's job-record cache.
	stopReads context.CancelFunc
}

// startServer starts a stack under dir on free loopback ports, shaped by
// mutate, and its gateway (as `stickerd dev` wires them) with gcfg, the
// coordination features from coord (nil: the stack's) and its handler
// wrapped by wrap (when not nil).
func startServer(ctx context.Context, dir string, mutate func(*wiring.Config), gcfg func(*gateway.Config),
	coord *wiring.Coord, wrap func(http.Handler) http.Handler) (*server, error) {
	cfg := wiring.DefaultConfig(dir)
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		return nil, err
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs = clients, peers
	cfg.KafkaListen, cfg.SchedulerListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := wiring.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	srv := &server{stack: s}
	deadline := time.Now().Add(30 * time.Second)
	for l := s.Leader(); l == nil || len(l.Scheduler.Workers()) < len(s.Workers); l = s.Leader() {
		if time.Now().After(deadline) {
			srv.close()
			return nil, errors.New("no leading scheduler with its workers after 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	g := gateway.DefaultConfig()
	g.Loopback = true
	if gcfg != nil {
		gcfg(&g)
	}
	co := wiring.Coord{Cache: s.Coord.Cache, Limiter: s.Coord.Limiter, Idempotency: s.Coord.Idempotency, Progress: s.Coord.Progress}
	if coord != nil {
		co = *coord
	}
	gctx, gcancel := context.WithCancel(ctx)
	srv.stopReads = gcancel
	gw, err := s.Gateway(wiring.GatewayOptions{Config: g, Coord: co, WebUI: true, Context: gctx, Log: cfg.Log})
	if err != nil {
		srv.close()
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.close()
		return nil, err
	}
	var h http.Handler = gw.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv.url = "http://" + lis.Addr().String()
	srv.http = health.NewServer(h, health.DefaultServerConfig())
	go srv.http.Serve(lis)
	return srv, nil
}

func (s *server) close() {
	if s.stopReads != nil {
		s.stopReads()
	}
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.http.Shutdown(ctx)
		cancel()
	}
	s.stack.Close()
}

// tunedClient is an HTTP client for many requests in flight to one host:
// a connection per request in flight, kept open between requests.
func tunedClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// loopbackOnly refuses to aim load at anything but 127.0.0.1.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("load goes to 127.0.0.1 only, not %s", u.Host)
	}
	return nil
}
