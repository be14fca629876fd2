package gateway

import (
	"net/http"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
)

func TestAuth_APIKeys(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) {
		c.Loopback = false
		c.APIKeys = map[string]string{"sk_acme": "acme", "sk_globex": "globex"}
	}))
	tests := []struct {
		name, header string
		status       int
		tenant       string
	}{
		{"no key", "", 401, ""},
		{"unknown key", "Bearer sk_nobody", 401, ""},
		{"not bearer", "Basic c2tfYWNtZQ==", 401, ""},
		{"acme's key", "Bearer sk_acme", 202, "acme"},
		{"scheme case-insensitive", "bearer sk_globex", 202, "globex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.submit(canvasSpec(tt.name), "Authorization", tt.header)
			if tt.status == 401 {
				checkProblem(t, resp, 401, errcode.Unauthorized)
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
				return
			}
			var v publicJob
			decode(t, resp, tt.status, &v)
			j, err := h.store.Get(h.ctx(), v.ID)
			if err != nil || j.Tenant != tt.tenant {
				t.Fatalf("job tenant %q (%v), want %q", j.Tenant, err, tt.tenant)
			}
		})
	}
	t.Run("the catalogue and probes need no key", func(t *testing.T) {
		for _, p := range []string{"/v1/stickers", "/v1/stickers/heart", "/healthz", "/readyz", "/openapi.json", "/metrics"} {
			if resp := h.do("GET", p, nil); resp.StatusCode != 200 {
				t.Errorf("GET %s = %d", p, resp.StatusCode)
			}
		}
	})
}

func TestAuth_NoKeys(t *testing.T) {
	t.Run("loopback: the default tenant", func(t *testing.T) {
		h := newHarness(t)
		var v publicJob
		decode(t, h.submit(canvasSpec("x")), http.StatusAccepted, &v)
		if j, err := h.store.Get(h.ctx(), jobs.ID(v.ID)); err != nil || j.Tenant != DefaultTenant {
			t.Fatalf("tenant %+v %v", j, err)
		}
	})
	t.Run("not loopback: refused", func(t *testing.T) {
		h := newHarness(t, withConfig(func(c *Config) { c.Loopback = false }))
		checkProblem(t, h.do("GET", "/v1/renders", nil), 401, errcode.Unauthorized)
	})
}
