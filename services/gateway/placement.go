package gateway

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
)

// LiveEdge is one realtime edge that reported its load recently.
type LiveEdge struct {
	ID          string
	URL         string
	Sessions    int
	MaxSessions int
	CPU         float64 // percent
}

// load orders edges for placement: the fraction of sessions in use, and
// CPU as a tie-breaker.
func (e LiveEdge) load() float64 {
	if e.MaxSessions <= 0 {
		return e.CPU
	}
	return float64(e.Sessions)/float64(e.MaxSessions) + e.CPU/100
}

// EdgeDirectory lists the live edges (the scheduler leader publishes them).
type EdgeDirectory interface {
	LiveEdges(ctx context.Context) ([]LiveEdge, error)
}

// LeastLoaded picks the edge for a new session, skipping full ones.
func LeastLoaded(edges []LiveEdge) (LiveEdge, bool) {
	var ok []LiveEdge
	for _, e := range edges {
		if e.MaxSessions <= 0 || e.Sessions < e.MaxSessions {
			ok = append(ok, e)
		}
	}
	if len(ok) == 0 {
		return LiveEdge{}, false
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].load() < ok[j].load() })
	return ok[0], true
}

// MountEdgePlacement answers POST sessionsPath on a gateway without an
// edge of its own with a 307 to the least-loaded live edge, which the
// WHIP client follows with the same offer. The directory is read at most
// once a second.
func (g *Gateway) MountEdgePlacement(sessionsPath string, dir EdgeDirectory) {
	var (
		mu    sync.Mutex
		cache []LiveEdge
		at    time.Time
	)
	edges := func(ctx context.Context) ([]LiveEdge, error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) < time.Second {
			return cache, nil
		}
		es, err := dir.LiveEdges(ctx)
		if err == nil {
			cache, at = es, time.Now()
		}
		return es, err
	}
	g.engine.POST(sessionsPath, g.authenticate, func(c *gin.Context) {
		es, err := edges(c.Request.Context())
		if err != nil {
			g.fail(c, errcode.Wrap(errcode.StateStoreUnavailable, err, "cannot read the live edges"))
			return
		}
		e, ok := LeastLoaded(es)
		if !ok {
			g.fail(c, problem.New(errcode.RTCMediaFailed, "no realtime edge is available or has room; try again").
				WithRetryAfter(5*time.Second))
			return
		}
		c.Redirect(http.StatusTemporaryRedirect, e.URL+sessionsPath)
	})
}
