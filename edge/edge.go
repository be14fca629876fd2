package edge

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stickerd/stickerd/internal/vpx"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/metrics"
)

// TenantResolver names the tenant a signaling request acts for; the
// gateway plugs its API-key check in here. An *errcode.Error it returns
// becomes the problem response (UNAUTHORIZED → 401).
type TenantResolver func(r *http.Request) (tenant string, err error)

// AssetOpener opens an uploaded asset of a tenant for an image sticker's
// asset_id; the gateway plugs the blob store in here. An *errcode.Error
// (ASSET_NOT_FOUND, say) is passed on to the client as is.
type AssetOpener func(ctx context.Context, tenant, assetID string) (io.ReadCloser, error)

// FrameTiming says where one frame's processing time went.
type FrameTiming struct {
	Session       SessionID
	Width, Height int
	// Decode is libvpx decoding; Wait is the time the decoded frame waited
	// for the compositor; Composite and Encode are the two later stages;
	// Send is packetising, encrypting and writing it; Total runs from the
	// frame's last packet to the frame written to the socket.
	Decode, Wait, Composite, Encode, Send, Total time.Duration
	Keyframe                                     bool
	Bytes                                        int
	// BitrateKbps is the encoder's target, set by congestion control.
	BitrateKbps int
}

// Option sets one of the Edge's hooks.
type Option func(*Edge)

// WithTenantResolver sets the tenant resolver; by default every request
// belongs to the tenant "default".
func WithTenantResolver(r TenantResolver) Option { return func(e *Edge) { e.resolveTenant = r } }

// WithAssetOpener lets image stickers name uploaded assets.
func WithAssetOpener(o AssetOpener) Option { return func(e *Edge) { e.openAsset = o } }

// WithFrameObserver calls f after every processed frame, on the session's
// media goroutine (keep it fast). For benchmarks and tracing.
func WithFrameObserver(f func(FrameTiming)) Option { return func(e *Edge) { e.observe = f } }

// WithLogger sets the logger (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(e *Edge) { e.log = l } }

// ErrorReporter receives the edge's typed errors (negotiation and media
// failures) for the error-event pipeline (internal/errevents).
type ErrorReporter func(err error, sessionID SessionID, tenant string)

// WithErrorReporter sets where typed errors are reported.
func WithErrorReporter(r ErrorReporter) Option { return func(e *Edge) { e.reportErr = r } }

// report hands a typed error to the reporter, if any.
func (e *Edge) report(err error, id SessionID, tenant string) {
	if e.reportErr != nil && err != nil {
		e.reportErr(err, id, tenant)
	}
}

// Edge holds the realtime sessions of one node.
type Edge struct {
	cfg           Config
	resolveTenant TenantResolver
	reportErr     ErrorReporter
	openAsset     AssetOpener
	observe       func(FrameTiming)
	log           *slog.Logger
	candidates    candidatePolicy

	mu        sync.Mutex
	sessions  map[SessionID]*session
	perTenant map[string]int
	reserved  int // sessions counted against the limits, open or being negotiated
	closed    bool
	wg        sync.WaitGroup // every session's teardown

	cpu      cpuMeter
	lastTrim atomic.Int64
}

// New returns an Edge; cfg must pass Validate.
func New(cfg Config, opts ...Option) (*Edge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	policy, err := newCandidatePolicy(cfg)
	if err != nil {
		return nil, err
	}
	e := &Edge{
		cfg:           cfg,
		candidates:    policy,
		resolveTenant: func(*http.Request) (string, error) { return "default", nil },
		log:           slog.Default(),
		sessions:      map[SessionID]*session{},
		perTenant:     map[string]int{},
	}
	for _, o := range opts {
		o(e)
	}
	e.log = e.log.With("component", "edge")
	e.cpu.sample()
	return e, nil
}

// Load is what the edge reports in its heartbeat to the scheduler.
type Load struct {
	// Sessions open now.
	Sessions int
	// CPU is this process's CPU use since the previous Load call, as a
	// fraction of all cores (0..1).
	CPU float64
}

// Load returns the edge's current load.
func (e *Edge) Load() Load {
	e.mu.Lock()
	n := len(e.sessions)
	e.mu.Unlock()
	return Load{Sessions: n, CPU: e.cpu.sample()}
}

// Close ends every session and refuses new ones; it returns once all of
// their resources are freed.
func (e *Edge) Close() error {
	e.mu.Lock()
	e.closed = true
	open := make([]*session, 0, len(e.sessions))
	for _, s := range e.sessions {
		open = append(open, s)
	}
	e.mu.Unlock()
	for _, s := range open {
		s.close(ErrEdgeClosed)
	}
	e.wg.Wait()
	return nil
}

// reserve counts a new session of tenant against the limits.
func (e *Edge) reserve(tenant string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return &httpError{status: http.StatusServiceUnavailable, code: errcode.RTCNegotiationFailed,
			detail: "this edge is shutting down", retryAfter: e.cfg.RetryAfter}
	case e.reserved >= e.cfg.MaxSessions:
		return &httpError{status: http.StatusServiceUnavailable, code: errcode.RateLimited,
			detail: "this edge is at its session limit", retryAfter: e.cfg.RetryAfter}
	case e.perTenant[tenant] >= e.cfg.MaxSessionsPerTenant:
		return &httpError{status: http.StatusTooManyRequests, code: errcode.RateLimited,
			detail: "too many realtime sessions open for this tenant", retryAfter: e.cfg.RetryAfter}
	}
	e.reserved++
	e.perTenant[tenant]++
	return nil
}

// release undoes reserve.
func (e *Edge) release(tenant string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reserved--
	if e.perTenant[tenant]--; e.perTenant[tenant] <= 0 {
		delete(e.perTenant, tenant)
	}
}

// add registers a negotiated session; it fails when the edge closed
// meanwhile.
func (e *Edge) add(s *session) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.sessions[s.id] = s
	e.wg.Add(1)
	metrics.RTCSessions.Set(float64(len(e.sessions)))
	return true
}

// remove forgets a session once its teardown is done.
func (e *Edge) remove(s *session) {
	e.mu.Lock()
	delete(e.sessions, s.id)
	metrics.RTCSessions.Set(float64(len(e.sessions)))
	e.mu.Unlock()
	e.release(s.tenant)
	// glibc keeps the freed codec buffers in its arenas; hand them back now
	// and then so that RSS follows the sessions down.
	if now := time.Now().UnixNano(); now-e.lastTrim.Load() > int64(10*time.Second) {
		e.lastTrim.Store(now)
		vpx.ReleaseMemory()
	}
	e.wg.Done()
}

// lookup returns tenant's session id.
func (e *Edge) lookup(tenant string, id SessionID) *session {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sessions[id]
	if s == nil || s.tenant != tenant {
		return nil // another tenant's session does not exist for this one
	}
	return s
}

// updateFPS sets the mean frame rate gauge across sessions.
func (e *Edge) updateFPS() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.sessions) == 0 {
		metrics.RTCFPS.Set(0)
		return
	}
	var sum float64
	for _, s := range e.sessions {
		sum += s.stats.lastFPS()
	}
	metrics.RTCFPS.Set(sum / float64(len(e.sessions)))
}
