package wiring

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/services/assets"
	"github.com/stickerd/stickerd/services/batches"
	"github.com/stickerd/stickerd/services/gateway"
	"github.com/stickerd/stickerd/services/submit"
	"github.com/stickerd/stickerd/services/webui"
	"github.com/stickerd/stickerd/services/webui/live"
)

// GatewayOptions are what differs between gateway deployments.
type GatewayOptions struct {
	Config gateway.Config
	// Coord supplies the result cache, rate limiter, idempotency store and
	// progress fan-out (Redis or in-process); nil fields turn them off.
	Coord Coord
	// WebUI mounts the page at "/" and the live demo at /live (stickerd dev).
	WebUI bool
	// Context, when set, bounds a cache of job records that the gateway's
	// reads are served from, kept current by a store watch.
	Context context.Context
	// Errors publishes the gateway's typed errors as events.
	Errors gateway.Reporter
	// Edge, when set, serves /v1/rtc/sessions behind the gateway's API-key
	// check (stickerd dev); see MountEdge.
	Edge *edge.Edge
	// BatchWebhooks, with Context, sends the webhook of a batch's end
	// (Webhooks.DeliverBatch); nil sends none. Batches are tracked (and
	// end) either way while Context lasts.
	BatchWebhooks batches.Deliverer
	Log           *slog.Logger
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
// The gateway reads downloads through Latest, not the cache.
var _ gateway.LatestReader = (*jobstore.Cached)(nil)

func NewGateway(cli *clientv3.Client, store *jobstore.Store, sub *submit.Submitter, blobs blob.Store,
	depth func() (int, error), opt GatewayOptions) (*gateway.Gateway, error) {
	rcfg := render.DefaultConfig()
	as := assets.New(cli, jobstore.DefaultPrefix, blobs, media.Prober{FFprobe: rcfg.FFprobe, Limits: rcfg.Limits})
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	var reads gateway.JobStore = store
	if opt.Context != nil {
		cached, err := jobstore.NewCached(opt.Context, store, 100_000)
		if err != nil {
			return nil, err
		}
		reads = cached
	}
	deps := gateway.Deps{Jobs: reads, Submitter: sub, Assets: as, Blobs: blobs, QueueDepth: depth,
		Cache: opt.Coord.Cache, Limiter: opt.Coord.Limiter, Idempotency: opt.Coord.Idempotency, Progress: opt.Coord.Progress,
		Errors: opt.Errors}
	templateDeps(cli, store, &deps)
	gw, err := gateway.New(opt.Config, deps, log)
	if err != nil {
		return nil, err
	}
	if opt.Context != nil {
		if err := startBatchTracker(opt.Context, cli, store, opt.BatchWebhooks, log); err != nil {
			return nil, err
		}
	}
	e := gw.Engine()
	if opt.WebUI {
		ui := gin.WrapH(webui.Handler())
		for _, p := range []string{"/", "/index.html", "/ui/*file"} {
			e.GET(p, ui)
			e.HEAD(p, ui)
		}
		lv := gin.WrapH(live.Handler())
		for _, p := range []string{"/live", "/live/*file"} {
			e.GET(p, lv)
			e.HEAD(p, lv)
		}
	}
	if opt.Edge != nil {
		MountEdge(gw, opt.Edge)
	}
	return gw, nil
}

type tenantKey struct{}

var errNoTenant = errors.New("wiring: the request reached the edge without a tenant")

// MountEdge serves the edge's signaling on the gateway's routes, after its
// API-key middleware; the edge learns the tenant from the request context
// (build the edge with EdgeTenant as its tenant resolver).
func MountEdge(gw *gateway.Gateway, ed *edge.Edge) {
	h := ed.Handler()
	serve := func(c *gin.Context) {
		ctx := context.WithValue(c.Request.Context(), tenantKey{}, gateway.TenantOf(c))
		h.ServeHTTP(c.Writer, c.Request.WithContext(ctx))
	}
	g := gw.Engine().Group(edge.SessionsPath, gw.Authenticate())
	g.POST("", serve)
	g.PATCH("/:id", serve)
	g.DELETE("/:id", serve)
}

// EdgeTenant is the edge's tenant resolver when it is mounted on a gateway.
func EdgeTenant(r *http.Request) (string, error) {
	if t, ok := r.Context().Value(tenantKey{}).(string); ok && t != "" {
		return t, nil
	}
	return "", errcode.Wrap(errcode.Unauthorized, errNoTenant, "a valid API key is required")
}

// EdgeAssets opens a tenant's uploaded stickers for the edge.
func EdgeAssets(blobs blob.Store) edge.AssetOpener {
	return func(ctx context.Context, tenant, assetID string) (io.ReadCloser, error) {
		o, err := blobs.Open(ctx, blob.AssetKey(tenant, assetID))
		if errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrBadKey) {
			return nil, errcode.New(errcode.AssetNotFound, "no asset %s", assetID)
		}
		return o, err
	}
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
	if opt.BatchWebhooks == nil && s.Webhooks != nil {
		opt.BatchWebhooks = s.Webhooks.DeliverBatch
	}
	return NewGateway(s.Client, s.Store, s.Submitter, s.Blobs, depth, opt)
}
