// Package problem is the one writer of stickerd's HTTP error answers:
// application/problem+json (RFC 9457) bodies with the error code, for the
// gateway and the edge alike. The status of a code comes from
// errcode.Status; docs/api.md ("Errors") describes the body.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
)

// ContentType is the media type of every error answer.
const ContentType = "application/problem+json"

// TypePrefix starts every problem's type: "urn:stickerd:error:<code>".
const TypePrefix = "urn:stickerd:error:"

// DefaultRetryAfter is the Retry-After of a 429 or 503 whose error names
// none: every such answer says when to come back.
const DefaultRetryAfter = 5 * time.Second

// WWWAuthenticate is the challenge of every 401: an API key as a bearer
// token.
const WWWAuthenticate = `Bearer realm="stickerd"`

// InternalDetail is the detail of an INTERNAL answer: the cause is logged,
// never shown.
const InternalDetail = "an internal error occurred; it has been logged"

// Body is an RFC 9457 problem detail with stickerd's members.
type Body struct {
	// Type is TypePrefix + Code; Title is the HTTP status text.
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   errcode.Code `json:"code"`
	// Instance is the request path.
	Instance string `json:"instance"`
	// Errors names each invalid field by its JSON path (a header or query
	// parameter by its name); [] when none.
	Errors []errcode.FieldError `json:"errors"`
}

// Error is a failed request on its way to becoming a problem answer.
type Error struct {
	Code errcode.Code
	// Status pins the HTTP status where HTTP itself is the issue (413, 415,
	// 403); 0 means errcode.Status(Code).
	Status int
	// Detail is shown to the client.
	Detail string
	Fields []errcode.FieldError
	// RetryAfter is sent as Retry-After; a 429 or 503 without one gets
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// Cause is for logs only.
	Cause error
}

// New returns an *Error with a formatted detail.
func New(code errcode.Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// WithStatus pins the HTTP status of e and returns it.
func (e *Error) WithStatus(status int) *Error { e.Status = status; return e }

// WithRetryAfter sets e's Retry-After and returns it.
func (e *Error) WithRetryAfter(d time.Duration) *Error { e.RetryAfter = d; return e }

func (e *Error) Error() string { return string(e.Code) + ": " + e.Detail }
func (e *Error) Unwrap() error { return e.Cause }

// HTTPStatus is the status e is answered with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return errcode.Status(e.Code)
}

// From classifies any error: an *Error as it is; an *errcode.Error by its
// code, message and fields; a body over http.MaxBytesReader's limit as a
// 413 SPEC_INVALID; context cancellation as CANCELED; anything else as
// INTERNAL, whose detail never shows the cause.
func From(err error) *Error {
	var pe *Error
	var ce *errcode.Error
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return &Error{Code: errcode.Internal, Detail: InternalDetail}
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &mbe):
		return &Error{Code: errcode.SpecInvalid, Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("the request body is over the limit of %d bytes", mbe.Limit), Cause: err}
	case errors.As(err, &ce):
		return &Error{Code: ce.Code, Detail: ce.Message, Fields: ce.Fields, Cause: err}
	case errors.Is(err, context.Canceled):
		return &Error{Code: errcode.Canceled, Detail: "the request was canceled", Cause: err}
	}
	return &Error{Code: errcode.Internal, Detail: InternalDetail, Cause: err}
}

// Write answers err (classified by From) as a problem: its status, with
// Retry-After on a 429 or 503 (the error's, else one the handler set, else
// DefaultRetryAfter) and WWW-Authenticate on a 401,
// Cache-Control: no-store, and the body. r gives the instance; it may be
// nil.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	e := From(err)
	status := e.HTTPStatus()
	retry := e.RetryAfter
	if retry <= 0 && w.Header().Get("Retry-After") == "" &&
		(status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		retry = DefaultRetryAfter
	}
	if retry > 0 {
		w.Header().Set("Retry-After", RetryAfterValue(retry))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", WWWAuthenticate)
	}
	body, _ := json.Marshal(BodyOf(e, r))
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// BodyOf is the body Write sends for e.
func BodyOf(e *Error, r *http.Request) Body {
	status := e.HTTPStatus()
	b := Body{Type: TypePrefix + string(e.Code), Title: Title(status), Status: status, Detail: e.Detail,
		Code: e.Code, Errors: e.Fields}
	if r != nil && r.URL != nil {
		b.Instance = r.URL.Path
	}
	if b.Detail == "" {
		b.Detail = b.Title
	}
	if b.Errors == nil {
		b.Errors = []errcode.FieldError{}
	}
	return b
}

// Title is the title of a problem with status: its status text.
func Title(status int) string {
	if status == errcode.StatusClientClosedRequest {
		return "Client Closed Request"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

// RetryAfterValue is a Retry-After value: whole seconds, rounded up, at
// least 1.
func RetryAfterValue(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
