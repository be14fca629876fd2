package stickerd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is an answer outside 2xx, read from its application/problem+json
// body (RFC 9457). Use errors.As to get at it, or IsCode.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the contract's error code, e.g. "SPEC_INVALID"; empty when
	// the body was not problem+json (a proxy's page, say).
	Code   string
	Type   string
	Title  string
	Detail string
	// Fields names each invalid field by its JSON path.
	Fields []FieldError
	// RetryAfter is the server's Retry-After, for 429 and 503.
	RetryAfter time.Duration
	// Method and URL say which request failed.
	Method, URL string
}

// FieldError is one problem with one field of a request, by its JSON path
// (e.g. "stickers[1].keyframes[0].t").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stickerd: %s %s: %d", e.Method, e.URL, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	switch {
	case e.Detail != "":
		b.WriteString(": " + e.Detail)
	case e.Title != "":
		b.WriteString(": " + e.Title)
	}
	for i, f := range e.Fields {
		sep := "; "
		if i == 0 {
			sep = " ("
		}
		b.WriteString(sep + f.Field + ": " + f.Message)
		if i == len(e.Fields)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// Temporary reports whether the same request may succeed later (429, 503).
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable
}

// IsCode reports whether err is, or wraps, an *APIError with the given
// code, such as "SPEC_INVALID", or a *JobError with it.
func IsCode(err error, code string) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code == code
	}
	var je *JobError
	return errors.As(err, &je) && je.Code == code
}

// IsStatus reports whether err is, or wraps, an *APIError with that HTTP status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// maxProblemBytes bounds how much of an error body is read.
const maxProblemBytes = 64 << 10

// problem is the RFC 9457 body with the contract's extensions.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors"`
}

// readAPIError turns a non-2xx response into an *APIError; it reads and
// closes the body.
func readAPIError(resp *http.Response) *APIError {
	defer resp.Body.Close()
	e := &APIError{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if resp.Request != nil {
		e.Method, e.URL = resp.Request.Method, resp.Request.URL.Redacted()
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProblemBytes))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p problem
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(body, &p) == nil {
		e.Code, e.Type, e.Detail, e.Fields = p.Code, p.Type, p.Detail, p.Errors
		if p.Title != "" {
			e.Title = p.Title
		}
		return e
	}
	// Not a problem document: keep a line of it for the person reading.
	if s := strings.TrimSpace(string(body)); s != "" && !strings.HasPrefix(s, "<") {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		e.Detail = s
	}
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
