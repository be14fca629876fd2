package gateway

import (
	"crypto/sha256"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
)

// authenticate finds the tenant of a /v1 request from its bearer key.
// A loopback-only gateway without keys takes every request as DefaultTenant.
func (g *Gateway) authenticate(c *gin.Context) {
	if len(g.keys) == 0 {
		if g.cfg.Loopback {
			c.Set(tenantKey, DefaultTenant)
			return
		}
		g.unauthorized(c, "this gateway has no API keys configured; its operator must give it an API keys file")
		return
	}
	key, ok := bearer(c.GetHeader("Authorization"))
	if !ok {
		g.unauthorized(c, "send an API key as \"Authorization: Bearer <key>\"")
		return
	}
	// Looking up the key's hash keeps the comparison's timing independent
	// of how much of a guessed key is right.
	tenant, ok := g.keys[sha256.Sum256([]byte(key))]
	if !ok {
		g.unauthorized(c, "the API key is not valid")
		return
	}
	c.Set(tenantKey, tenant)
}

func (g *Gateway) unauthorized(c *gin.Context, detail string) {
	g.fail(c, problem.New(errcode.Unauthorized, "%s", detail))
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func tenantOf(c *gin.Context) string { return c.GetString(tenantKey) }

// Authenticate is the API-key middleware of the /v1 routes, for routes
// mounted on Engine by other packages (/v1/rtc/...); after it, TenantOf
// names the request's tenant.
func (g *Gateway) Authenticate() gin.HandlerFunc { return g.authenticate }

// TenantOf is the tenant Authenticate found for c.
func TenantOf(c *gin.Context) string { return tenantOf(c) }

// Fail answers err as a problem+json through the gateway's one mapping of
// error codes (typed errcode errors keep their code; anything else is a
// logged INTERNAL), for handlers mounted on Engine by other packages.
func (g *Gateway) Fail(c *gin.Context, err error) { g.fail(c, err) }

// rateLimit takes a token from the tenant's bucket for a request that
// creates something (an upload, a render). A limiter failure lets the
// request through.
func (g *Gateway) rateLimit(c *gin.Context) {
	if g.deps.Limiter == nil {
		return
	}
	ok, retry, err := g.deps.Limiter.Allow(c.Request.Context(), "tenant:"+tenantOf(c))
	if err != nil {
		g.failOpen(c, "rate_limiter", err)
		return
	}
	if !ok {
		f := problem.New(errcode.RateLimited, "too many requests for this tenant; retry in %s", retry.Round(time.Millisecond))
		f.RetryAfter = max(retry, time.Second)
		g.fail(c, f)
	}
}
