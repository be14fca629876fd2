package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/problem"
)

// fail answers err as a problem (internal/problem, the writer the edge
// uses too), reports and logs it, and stops the handler chain.
func (g *Gateway) fail(c *gin.Context, err error) {
	p := problemOf(err)
	if p.RetryAfter == 0 {
		switch p.Code {
		case errcode.StateStoreUnavailable, errcode.StorageFailed:
			p.RetryAfter = g.cfg.StoreRetryAfter
		case errcode.QueueUnavailable:
			p.RetryAfter = g.cfg.QueueRetryAfter
		}
	}
	status := p.HTTPStatus()
	if p.Code.Valid() {
		if g.deps.Errors != nil { // counts it locally too
			ev := errevents.FromError("gateway", errcode.New(p.Code, "%s", p.Detail), c.Param("id"), "", tenantOf(c))
			g.deps.Errors.Report(c.Request.Context(), ev)
		} else {
			metrics.LocalErrors.WithLabelValues("gateway", string(p.Code)).Inc()
		}
	}
	attrs := []any{"code", p.Code, "status", status, "route", route(c), "request_id", c.GetString(requestIDKey)}
	if p.Cause != nil {
		attrs = append(attrs, "err", p.Cause)
	}
	switch {
	case status == http.StatusInternalServerError:
		g.log.Error("request failed", append(attrs, "detail", p.Detail)...)
	case status >= 500 && p.Code != errcode.Canceled && p.Code != errcode.QueueUnavailable:
		// A shed submission is the gateway working as meant under
		// overload, and a log line per shed would feed the overload:
		// sheds are counted (metrics, error events), and logged at debug.
		g.log.Warn("request failed", append(attrs, "detail", p.Detail)...)
	default:
		g.log.Debug("request refused", append(attrs, "detail", p.Detail)...)
	}
	writeProblem(c, p)
}

// writeProblem writes p and stops the handler chain.
func writeProblem(c *gin.Context, p *problem.Error) {
	problem.Write(c.Writer, c.Request, p)
	c.Abort()
}
