package gateway

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/services/assets/assetstest"
)

func TestRenders_RateLimited(t *testing.T) {
	tests := []struct {
		name       string
		lim        limiter
		status     int
		retryAfter string
	}{
		{"allowed", limiter{ok: true}, 202, ""},
		{"denied", limiter{retry: 1500 * time.Millisecond}, 429, "2"},
		{"denied, next token soon", limiter{retry: 10 * time.Millisecond}, 429, "1"},
		{"limiter down fails open", limiter{err: errRedisDown}, 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := tt.lim
			h := newHarness(t, withDeps(func(d *Deps) { d.Limiter = &lim }))
			before := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("rate_limiter"))
			resp := h.submit(canvasSpec("x"))
			if tt.status == 429 {
				checkProblem(t, resp, 429, errcode.RateLimited)
			} else {
				decode(t, resp, tt.status, nil)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if len(lim.keys) != 1 || lim.keys[0] != "tenant:"+DefaultTenant {
				t.Fatalf("limiter keys %v", lim.keys)
			}
			counted := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("rate_limiter")) - before
			if (tt.lim.err != nil) != (counted == 1) {
				t.Fatalf("fail-open counted %g times", counted)
			}
		})
	}
	t.Run("uploads are limited too", func(t *testing.T) {
		h := newHarness(t, withDeps(func(d *Deps) { d.Limiter = &limiter{retry: time.Second} }))
		checkProblem(t, h.do("POST", "/v1/assets", bytes.NewReader(assetstest.PNG(t, 8, 8))), 429, errcode.RateLimited)
	})
}

func TestRenders_QueueDepth(t *testing.T) {
	tests := []struct {
		name   string
		depth  func() (int, error)
		status int
	}{
		{"below the limit", func() (int, error) { return 9, nil }, 202},
		{"at the limit", func() (int, error) { return 10, nil }, 503},
		{"depth unknown fails open", func() (int, error) { return 0, errors.New("scheduler unreachable") }, 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withConfig(func(c *Config) { c.QueueDepthLimit = 10 }),
				withDeps(func(d *Deps) { d.QueueDepth = tt.depth }))
			resp := h.submit(canvasSpec("x"))
			if tt.status == 503 {
				checkProblem(t, resp, 503, errcode.QueueUnavailable)
				if resp.Header.Get("Retry-After") != "5" {
					t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
				}
				return
			}
			decode(t, resp, tt.status, nil)
		})
	}
}
