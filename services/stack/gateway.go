package stack

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/gin-gonic/gin"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/services/assets"
	"github.com/stickerd/stickerd/services/blob"
	"github.com/stickerd/stickerd/services/gateway"
	"github.com/stickerd/stickerd/services/statestore"
	"github.com/stickerd/stickerd/services/submit"
	"github.com/stickerd/stickerd/services/webui"
)

// GatewayOptions are what differs between gateway deployments.
type GatewayOptions struct {
	Config gateway.Config
	// Coord supplies the result cache, rate limiter, idempotency store and
	// progress fan-out (Redis or in-process); nil fields turn them off.
	Coord Coord
	// WebUI mounts the page at "/" (stickerd dev).
	WebUI bool
	Log   *slog.Logger
}

// Coord are the Redis-backed features, or their in-process twins.
type Coord struct {
	Cache       gateway.ResultCache
	Limiter     gateway.RateLimiter
	Idempotency gateway.Idempotency
	Progress    gateway.Progress
}

// NewGateway builds a gateway over a store, a submitter and a blob store:
// the body of `stickerd gateway` and the front door of `stickerd dev`.
func NewGateway(cli *clientv3.Client, store *statestore.Store, sub *submit.Submitter, blobs blob.Store,
	depth func() (int, error), opt GatewayOptions) (*gateway.Gateway, error) {
	rcfg := render.DefaultConfig()
	as := assets.New(cli, statestore.DefaultPrefix, blobs, media.Prober{FFprobe: rcfg.FFprobe, Limits: rcfg.Limits})
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	gw, err := gateway.New(opt.Config, gateway.Deps{Jobs: store, Submitter: sub, Assets: as, Blobs: blobs, QueueDepth: depth,
		Cache: opt.Coord.Cache, Limiter: opt.Coord.Limiter, Idempotency: opt.Coord.Idempotency, Progress: opt.Coord.Progress}, log)
	if err != nil {
		return nil, err
	}
	if opt.WebUI {
		ui := gin.WrapH(webui.Handler())
		e := gw.Engine()
		for _, p := range []string{"/", "/index.html", "/ui/*file"} {
			e.GET(p, ui)
			e.HEAD(p, ui)
		}
	}
	return gw, nil
}

// Gateway builds the gateway of an in-process stack; the queue depth comes
// straight from the leading replica.
func (s *Stack) Gateway(opt GatewayOptions) (*gateway.Gateway, error) {
	depth := func() (int, error) {
		if l := s.Leader(); l != nil {
			return l.Scheduler.QueueDepth(), nil
		}
		return 0, nil
	}
	return NewGateway(s.Client, s.Store, s.Submitter, s.Blobs, depth, opt)
}

// EtcdQueueDepth reads the queue depth the leader publishes in etcd, cached
// for a second, for gateways in their own processes.
func EtcdQueueDepth(cli *clientv3.Client) func() (int, error) {
	var (
		last  int
		at    time.Time
		cache = time.Second
	)
	return func() (int, error) {
		if time.Since(at) < cache {
			return last, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := ReadQueueDepth(ctx, cli)
		if err != nil {
			return 0, err
		}
		last, at = n, time.Now()
		return n, nil
	}
}

// IsLoopback reports whether addr listens on loopback only, where the
// contract lets a gateway without API keys accept requests without a key.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
