package gateway

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/metrics"
)

// ProblemContentType is the media type of every error answer.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem detail, the body of every error answer.
type Problem struct {
	// Type is "urn:stickerd:error:<code>"; Title is the HTTP status text.
	Type     string               `json:"type"`
	Title    string               `json:"title"`
	Status   int                  `json:"status"`
	Detail   string               `json:"detail"`
	Code     errcode.Code         `json:"code"`
	Instance string               `json:"instance,omitempty"`
	Errors   []errcode.FieldError `json:"errors"`
}

// fail answers err as a problem and stops the handler chain.
func (g *Gateway) fail(c *gin.Context, err error) {
	f := faultOf(err)
	status := f.httpStatus()
	retry := f.retryAfter
	if retry == 0 {
		switch f.code {
		case errcode.StateStoreUnavailable, errcode.StorageFailed:
			retry = g.cfg.StoreRetryAfter
		case errcode.QueueUnavailable:
			retry = g.cfg.QueueRetryAfter
		}
	}
	if retry > 0 {
		c.Header("Retry-After", retrySeconds(retry))
	}
	if f.code.Valid() {
		if g.deps.Errors != nil { // counts it locally too
			ev := errevents.FromError("gateway", errcode.New(f.code, "%s", f.detail), c.Param("id"), "", tenantOf(c))
			g.deps.Errors.Report(c.Request.Context(), ev)
		} else {
			metrics.LocalErrors.WithLabelValues("gateway", string(f.code)).Inc()
		}
	}
	attrs := []any{"code", f.code, "status", status, "route", route(c), "request_id", c.GetString(requestIDKey)}
	if f.cause != nil {
		attrs = append(attrs, "err", f.cause)
	}
	switch {
	case status == http.StatusInternalServerError:
		g.log.Error("request failed", append(attrs, "detail", f.detail)...)
	case status >= 500 && f.code != errcode.Canceled:
		g.log.Warn("request failed", append(attrs, "detail", f.detail)...)
	default:
		g.log.Debug("request refused", append(attrs, "detail", f.detail)...)
	}
	writeProblem(c, status, f)
}

func writeProblem(c *gin.Context, status int, f *fault) {
	p := Problem{Type: "urn:stickerd:error:" + string(f.code), Title: http.StatusText(status), Status: status,
		Detail: f.detail, Code: f.code, Instance: c.Request.URL.Path, Errors: f.fields}
	if p.Title == "" {
		p.Title = "Client Closed Request"
	}
	if p.Errors == nil {
		p.Errors = []errcode.FieldError{}
	}
	body, _ := json.Marshal(p)
	c.Header("Cache-Control", "no-store")
	c.Data(status, ProblemContentType, body)
	c.Abort()
}

// retrySeconds is a Retry-After value: whole seconds, rounded up, at least 1.
func retrySeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
