package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/problem"
)

const (
	requestIDKey = "stickerd.request_id"
	tenantKey    = "stickerd.tenant"
)

// route is the matched route template, for logs and metric labels (a
// bounded set: unmatched paths share one label).
func route(c *gin.Context) string {
	if p := c.FullPath(); p != "" {
		return p
	}
	return "unmatched"
}

// logRequests gives each request an id (X-Request-ID, kept when the client
// sent a sane one), and logs and measures it when it ends.
func (g *Gateway) logRequests(c *gin.Context) {
	start := time.Now()
	id := c.GetHeader("X-Request-ID")
	if len(id) == 0 || len(id) > 128 || !printable(id) {
		b := make([]byte, 8)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-ID", id)
	c.Next()
	status, took := c.Writer.Status(), time.Since(start)
	r := route(c)
	metrics.HTTPRequests.WithLabelValues(r, c.Request.Method, strconv.Itoa(status)).Inc()
	metrics.Observe(c.Request.Context(), metrics.HTTPDuration.WithLabelValues(r, c.Request.Method), took.Seconds())
	if r == "/healthz" || r == "/readyz" || r == "/metrics" {
		return // probes every few seconds would drown the log
	}
	g.log.InfoContext(c.Request.Context(), "request", "method", c.Request.Method, "route", r, "path", c.Request.URL.Path,
		"status", status, "bytes", c.Writer.Size(), "duration_ms", took.Milliseconds(),
		"tenant", c.GetString(tenantKey), "request_id", id, "remote", c.ClientIP())
}

// recoverPanics turns a handler's panic into a logged 500 problem: a bug,
// never the client's fault, and never the end of the process.
func (g *Gateway) recoverPanics(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v) // net/http's way to abort a response; it logs nothing
		}
		g.log.Error("handler panicked", "panic", v, "stack", string(debug.Stack()), "route", route(c),
			"request_id", c.GetString(requestIDKey))
		metrics.LocalErrors.WithLabelValues("gateway", string(errcode.Internal)).Inc()
		if c.Writer.Written() {
			c.Abort()
			return
		}
		writeProblem(c, problem.New(errcode.Internal, "%s (request %s)", problem.InternalDetail, c.GetString(requestIDKey)))
	}()
	c.Next()
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
