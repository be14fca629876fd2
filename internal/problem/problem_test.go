package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
)

func write(t *testing.T, err error) (*httptest.ResponseRecorder, map[string]json.RawMessage, Body) {
	t.Helper()
	w := httptest.NewRecorder()
	Write(w, httptest.NewRequest("POST", "/v1/some/path?q=1", nil), err)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	var b Body
	json.Unmarshal(w.Body.Bytes(), &b)
	return w, raw, b
}

func TestWrite_Shape(t *testing.T) {
	err := &errcode.Error{Code: errcode.SpecInvalid, Message: "the render request is invalid",
		Fields: []errcode.FieldError{{Field: "stickers[0].x", Message: "must be 0 to 1"}}}
	w, raw, b := write(t, fmt.Errorf("wrapped: %w", err))
	if w.Code != 400 || w.Header().Get("Content-Type") != ContentType || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v", w.Code, w.Header())
	}
	for _, k := range []string{"type", "title", "status", "detail", "code", "instance", "errors"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %q in %s", k, w.Body)
		}
	}
	want := Body{Type: "urn:stickerd:error:SPEC_INVALID", Title: "Bad Request", Status: 400,
		Detail: "the render request is invalid", Code: errcode.SpecInvalid, Instance: "/v1/some/path",
		Errors: []errcode.FieldError{{Field: "stickers[0].x", Message: "must be 0 to 1"}}}
	if fmt.Sprint(b) != fmt.Sprint(want) {
		t.Fatalf("body %+v, want %+v", b, want)
	}
	if w.Header().Get("Retry-After") != "" || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("a 400 with %v", w.Header())
	}
	if w, _, _ := write(t, errcode.New(errcode.Unauthorized, "no key")); w.Code != 401 || w.Header().Get("WWW-Authenticate") != WWWAuthenticate {
		t.Fatalf("401 with %v", w.Header())
	}
}

func TestWrite_Classifies(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       errcode.Code
		retryAfter string
		detail     string
	}{
		{"typed", errcode.New(errcode.RTCNegotiationFailed, "no VP8"), 422, errcode.RTCNegotiationFailed, "", "no VP8"},
		{"HTTP code", New(errcode.NotFound, "no such session"), 404, errcode.NotFound, "", "no such session"},
		{"pinned status", New(errcode.SpecInvalid, "send application/sdp").WithStatus(415), 415, errcode.SpecInvalid, "", "application/sdp"},
		{"body too large", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 10}), 413, errcode.SpecInvalid, "", "10 bytes"},
		{"rate limited", New(errcode.RateLimited, "slow down").WithRetryAfter(2500 * time.Millisecond), 429, errcode.RateLimited, "3", "slow down"},
		{"503 without a Retry-After of its own", errcode.New(errcode.QueueUnavailable, "full"), 503, errcode.QueueUnavailable, "5", "full"},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), 499, errcode.Canceled, "", "canceled"},
		{"untyped", errors.New("secret path /etc/x"), 500, errcode.Internal, "", InternalDetail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _, b := write(t, tt.err)
			if w.Code != tt.status || b.Status != tt.status || b.Code != tt.code || !strings.Contains(b.Detail, tt.detail) {
				t.Fatalf("%d %+v, want %d %s with %q", w.Code, b, tt.status, tt.code, tt.detail)
			}
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if b.Title == "" || b.Type != TypePrefix+string(tt.code) || b.Errors == nil {
				t.Fatalf("body %+v", b)
			}
		})
	}
}

func TestWrite_KeepsAHandlersRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("Retry-After", "0")
	Write(w, nil, errcode.New(errcode.RateLimited, "slow down"))
	if w.Code != 429 || w.Header().Get("Retry-After") != "0" {
		t.Fatalf("%d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestFrom_KeepsCause(t *testing.T) {
	cause := errors.New("etcd: no leader")
	e := From(errcode.Wrap(errcode.StateStoreUnavailable, cause, "the state store is unavailable"))
	if !errors.Is(e, cause) || e.Detail != "the state store is unavailable" {
		t.Fatalf("%+v", e)
	}
}
