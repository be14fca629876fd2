package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/jobs"
)

// renderEvents is GET /v1/renders/{id}/events, a Server-Sent Events stream:
// "status" with the job on every state change (the first one at once),
// "progress" with {"progress":p} while it runs, a comment line every
// HeartbeatInterval, and the end of the stream after the terminal status.
func (g *Gateway) renderEvents(c *gin.Context) {
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	// Read first: a missing job, another tenant's or a store outage is
	// answered within StoreTimeout, before the stream starts.
	j, err := g.loadJob(c)
	if err != nil {
		g.fail(c, err)
		return
	}
	updates, err := g.deps.Jobs.Watch(ctx, j.ID)
	if err != nil {
		g.fail(c, err)
		return
	}
	first, ok := <-updates
	if !ok {
		g.fail(c, errNoJob())
		return
	}
	// A stream outlives any write timeout of the server.
	http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{})
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.Status(http.StatusOK)
	s := &sseStream{c: c, g: g}
	s.follow(ctx, first, updates)
}

// sseStream writes one event stream.
type sseStream struct {
	c *gin.Context
	g *Gateway

	last     *jobs.Job
	progress float64 // the highest progress sent in this run
	sub      <-chan float64
	unsub    context.CancelFunc
}

func (s *sseStream) follow(ctx context.Context, first *jobs.Job, updates <-chan *jobs.Job) {
	defer s.stopProgress()
	if !s.status(ctx, first) {
		return
	}
	beat := time.NewTicker(s.g.cfg.HeartbeatInterval)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if !s.write(": heartbeat\n\n") {
				return
			}
		case p, ok := <-s.sub:
			if !ok {
				s.sub = nil // the fan-out ended: the store's progress goes on
				continue
			}
			if !s.sendProgress(p) {
				return
			}
		case j, ok := <-updates:
			if !ok {
				return // the record was deleted, or the watch ended with ctx
			}
			if j.Status != s.last.Status {
				if !s.status(ctx, j) {
					return
				}
				continue
			}
			s.last = j
			if j.Status == jobs.Running && !s.sendProgress(j.Progress) {
				return
			}
		}
	}
}

// status sends a status event and reports whether the stream goes on.
func (s *sseStream) status(ctx context.Context, j *jobs.Job) bool {
	s.stopProgress()
	s.last, s.progress = j, j.Progress
	data, _ := json.Marshal(s.g.jobView(j))
	if !s.write("event: status\ndata: " + string(data) + "\n\n") {
		return false
	}
	if j.Status.Terminal() {
		s.g.rememberResult(ctx, j)
		return false
	}
	if j.Status == jobs.Running && s.g.deps.Progress != nil {
		pctx, cancel := context.WithCancel(ctx)
		sub, err := s.g.deps.Progress.Subscribe(pctx, string(j.ID))
		if err != nil {
			cancel()
			s.g.failOpen(s.c, "progress", err)
		} else {
			s.sub, s.unsub = sub, cancel
		}
	}
	return true
}

// sendProgress sends p when it is ahead of what was sent: the fan-out and
// the store both report progress, and a client sees it only grow.
func (s *sseStream) sendProgress(p float64) bool {
	if s.last.Status != jobs.Running || p <= s.progress {
		return true
	}
	s.progress = min(p, 1)
	return s.write(fmt.Sprintf("event: progress\ndata: {\"progress\":%s}\n\n", formatProgress(s.progress)))
}

func (s *sseStream) stopProgress() {
	if s.unsub != nil {
		s.unsub()
	}
	s.sub, s.unsub = nil, nil
}

func (s *sseStream) write(frame string) bool {
	if _, err := s.c.Writer.WriteString(frame); err != nil {
		return false
	}
	s.c.Writer.Flush()
	return true
}

func formatProgress(p float64) string {
	b, _ := json.Marshal(float64(int(p*10000+0.5)) / 10000)
	return string(b)
}
