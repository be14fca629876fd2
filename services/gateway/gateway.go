package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/problem"
)

// Gateway serves the REST API.
type Gateway struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	engine *gin.Engine
	keys   map[[32]byte]string // sha256(API key) → tenant
	doc    []byte              // the OpenAPI document
	met    *gatewayMetrics
	signer signer      // signed output links (signed.go)
	clock  clock.Clock // Deps.Clock, or the real one
	admit  *admission  // the queue estimate that sheds submissions (admission.go)

	recordedMu sync.Mutex
	recorded   map[string]struct{} // jobs whose result is in the cache
}

// New checks cfg and deps and builds the routes. A nil log discards.
func New(cfg Config, deps Deps, log *slog.Logger) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Jobs == nil || deps.Submitter == nil || deps.Assets == nil || deps.Blobs == nil {
		return nil, fmt.Errorf("%w: Deps.Jobs, Submitter, Assets and Blobs are required", ErrInvalidConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if deps.Resolver == nil {
		deps.Resolver = net.DefaultResolver
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	sg, randomKey, err := newSigner(cfg)
	if err != nil {
		return nil, err
	}
	if rev, ok := deps.Jobs.(interface {
		Revision(context.Context) (int64, error)
	}); ok && len(deps.Ready) == 0 {
		deps.Ready = []health.Check{{Name: "state_store", Fn: func(ctx context.Context) error {
			_, err := rev.Revision(ctx)
			return err
		}}}
	}
	g := &Gateway{cfg: cfg, deps: deps, log: log.With("component", "gateway"), keys: map[[32]byte]string{},
		met: newGatewayMetrics(), recorded: map[string]struct{}{}, signer: sg, clock: deps.Clock,
		admit: newAdmission(deps.QueueDepth, cfg, deps.Clock)}
	if randomKey {
		g.log.Warn("no URL signing key; signing output links with a random key: they stop working when this process restarts, and other gateways refuse them; give --url-signing-key")
	}
	for key, tenant := range cfg.APIKeys {
		g.keys[sha256.Sum256([]byte(key))] = tenant
	}
	if len(g.keys) == 0 && !cfg.Loopback {
		g.log.Warn("no API keys and not loopback-only: every /v1 request is refused with 401; give an API keys file")
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	if tracingOn() {
		e.Use(traceRequests()) // first: the request's log line and metrics see its span
	}
	e.Use(g.logRequests, g.recoverPanics, g.localGuard)
	e.NoRoute(func(c *gin.Context) {
		g.fail(c, problem.New(errcode.NotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		g.fail(c, problem.New(errcode.MethodNotAllowed, "%s is not allowed on %s (see the Allow header)", c.Request.Method, c.Request.URL.Path))
	})
	g.engine = e
	g.routes()
	doc, err := g.openAPIJSON()
	if err != nil {
		return nil, err
	}
	g.doc = doc
	return g, nil
}

// Engine is the gin engine, for mounting more routes (/v1/rtc/..., the web
// UI) before serving.
func (g *Gateway) Engine() *gin.Engine { return g.engine }

// Handler is the HTTP handler of the API.
func (g *Gateway) Handler() http.Handler { return g.engine }

// routes registers every route of the API; openapi.go describes each one.
func (g *Gateway) routes() {
	e := g.engine
	e.GET("/healthz", g.healthz)
	e.GET("/readyz", g.readyz)
	e.GET("/metrics", g.metrics)
	e.GET("/openapi.json", g.openAPI)

	// The catalogue is the same for every tenant and is shown with
	// <img src>, which cannot send a bearer key.
	e.GET("/v1/stickers", g.listStickers)
	e.GET("/v1/stickers/:name", g.getSticker)

	v1 := e.Group("/v1", g.authenticate)
	v1.POST("/assets", g.rateLimit, g.uploadAsset)
	v1.GET("/assets/:id", g.getAsset)
	v1.DELETE("/assets/:id", g.deleteAsset)
	v1.POST("/renders", g.rateLimit, g.submitRender)
	v1.GET("/renders", g.listRenders)
	v1.GET("/renders/:id", g.getRender)
	v1.DELETE("/renders/:id", g.cancelRender)
	v1.GET("/renders/:id/events", g.renderEvents)
	// A download is authorised by a signed link (signed.go) or by a key.
	e.GET("/v1/renders/:id/output", g.signedOrKey, g.renderOutput)
	e.HEAD("/v1/renders/:id/output", g.signedOrKey, g.renderOutput)
	v1.DELETE("/renders/:id/output", g.deleteOutput)
	v1.POST("/templates", g.createTemplate)
	v1.GET("/templates", g.listTemplates)
	v1.GET("/templates/:id", g.getTemplate)
	v1.PUT("/templates/:id", g.updateTemplate)
	v1.DELETE("/templates/:id", g.deleteTemplate)
	// A batch takes one token however many rows it has.
	v1.POST("/batches", g.rateLimit, g.submitBatch)
	v1.GET("/batches/:id", g.getBatch)
	v1.DELETE("/batches/:id", g.cancelBatch)
	v1.GET("/batches/:id/events", g.batchEvents)
}

// storeCtx bounds one state-store call of a request.
func (g *Gateway) storeCtx(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), g.cfg.StoreTimeout)
}

// failOpen logs and counts a failed optional dependency the request goes
// on without.
func (g *Gateway) failOpen(c *gin.Context, dependency string, err error) {
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		return
	}
	g.met.failOpen.WithLabelValues(dependency).Inc()
	g.log.Warn("optional dependency failed; going on without it", "dependency", dependency, "err", err,
		"route", route(c), "request_id", c.GetString(requestIDKey))
}
