package edge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stickerd/stickerd/internal/problem"
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

// ErrorReporter receives the edge's typed errors (negotiation and media
// failures) for the error-event pipeline (internal/errevents).
type ErrorReporter func(err error, sessionID SessionID, tenant string)

// DefaultTenant is the tenant of every request when Deps.Tenant is nil.
const DefaultTenant = "default"

// Deps are the edge's collaborators, as the gateway's Deps are its own.
// All are optional (nil: the feature is off, or its default).
type Deps struct {
	// Tenant names the tenant a signaling request acts for (the API-key
	// check); nil: every request is DefaultTenant's.
	Tenant TenantResolver
	// Assets lets image stickers name uploaded assets (asset_id); nil:
	// such a sticker is refused with ASSET_NOT_FOUND.
	Assets AssetOpener
	// Errors receives every typed error the edge answers or meets.
	Errors ErrorReporter
	// FrameObserver is called after every processed frame, on the
	// session's media goroutine (keep it fast); for benchmarks and tracing.
	FrameObserver func(FrameTiming)
}

// report hands a typed error to the reporter, if any. A problem answer is
// reported with the code and detail the client saw; the HTTP codes
// (NOT_FOUND, ...) are not error events.
func (e *Edge) report(err error, id SessionID, tenant string) {
	if e.deps.Errors == nil || err == nil {
		return
	}
	var p *problem.Error
	if errors.As(err, &p) {
		if !p.Code.Valid() {
			return
		}
		err = errcode.Wrap(p.Code, err, "%s", p.Detail)
	}
	e.deps.Errors(err, id, tenant)
}

// Edge holds the realtime sessions of one node.
type Edge struct {
	cfg        Config
	deps       Deps
	log        *slog.Logger
	candidates candidatePolicy

	mu        sync.Mutex
	sessions  map[SessionID]*session
	perTenant map[string]int
	reserved  int // sessions counted against the limits, open or being negotiated
	closed    bool
	wg        sync.WaitGroup // every session's teardown

	cpu      cpuMeter
	lastTrim atomic.Int64
}

// New returns an Edge; cfg must pass Validate. A nil log discards.
func New(cfg Config, deps Deps, log *slog.Logger) (*Edge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	policy, err := newCandidatePolicy(cfg)
	if err != nil {
		return nil, err
	}
	if deps.Tenant == nil {
		deps.Tenant = func(*http.Request) (string, error) { return DefaultTenant, nil }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Edge{
		cfg:        cfg,
		deps:       deps,
		candidates: policy,
		log:        log.With("component", "edge"),
		sessions:   map[SessionID]*session{},
		perTenant:  map[string]int{},
	}
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
		return e.unavailable("this edge is shutting down")
	case e.reserved >= e.cfg.MaxSessions:
		return e.unavailable("this edge is at its session limit")
	case e.perTenant[tenant] >= e.cfg.MaxSessionsPerTenant:
		return problem.New(errcode.RateLimited, "too many realtime sessions open for this tenant").
			WithRetryAfter(e.cfg.RetryAfter)
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
