package edge

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
)

// Errors a session ends with, reported to OnClose-style hooks and logs.
var (
	// ErrEdgeClosed: the edge is shutting down.
	ErrEdgeClosed = errors.New("edge: closed")
	// ErrIdle: no media arrived for Config.IdleTimeout.
	ErrIdle = errors.New("edge: session idle")
	// ErrICEFailed: the ICE connection failed.
	ErrICEFailed = errors.New("edge: ICE connection failed")
	// ErrDeleted: the client ended the session with DELETE.
	ErrDeleted = errors.New("edge: session deleted")
)

// problem is an application/problem+json body (RFC 9457), the shape every
// stickerd HTTP error has.
type problem struct {
	Type   string               `json:"type"`
	Title  string               `json:"title"`
	Status int                  `json:"status"`
	Detail string               `json:"detail,omitempty"`
	Code   errcode.Code         `json:"code,omitempty"`
	Errors []errcode.FieldError `json:"errors,omitempty"`
}

// httpError is an HTTP answer that is not a success.
type httpError struct {
	status     int
	code       errcode.Code
	detail     string
	retryAfter time.Duration
}

func (e *httpError) Error() string { return string(e.code) + ": " + e.detail }

func negotiationFailed(status int, detail string) *httpError {
	return &httpError{status: status, code: errcode.RTCNegotiationFailed, detail: detail}
}

// statusOf maps a code that the tenant resolver or asset opener returned
// to the HTTP status the gateway would use.
func statusOf(code errcode.Code) int {
	switch code {
	case errcode.Unauthorized:
		return http.StatusUnauthorized
	case errcode.RateLimited:
		return http.StatusTooManyRequests
	case errcode.SpecInvalid, errcode.RTCNegotiationFailed:
		return http.StatusBadRequest
	case errcode.QueueUnavailable, errcode.StateStoreUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeProblem answers err as problem+json; a plain error becomes a 500
// that does not leak its text.
func writeProblem(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		var ce *errcode.Error
		if errors.As(err, &ce) {
			he = &httpError{status: statusOf(ce.Code), code: ce.Code, detail: ce.Message}
		} else {
			he = &httpError{status: http.StatusInternalServerError, code: errcode.Internal, detail: "internal error"}
		}
	}
	if he.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(he.retryAfter.Seconds()))))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(he.status)
	_ = json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(he.status),
		Status: he.status, Detail: he.detail, Code: he.code})
}
