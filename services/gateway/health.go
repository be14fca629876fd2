package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/problem"
)

func (g *Gateway) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz runs every readiness check; 503 with Retry-After when one fails.
// It is on the public port: a failed check answers "unavailable", and its
// error (which names internal addresses) goes to the log.
func (g *Gateway) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), min(2*time.Second, g.cfg.StoreTimeout))
	defer cancel()
	res, ok := map[string]string{}, true
	for _, chk := range g.deps.Ready {
		if err := chk.Fn(ctx); err != nil {
			res[chk.Name], ok = "unavailable", false
			g.log.Warn("readiness check failed", "check", chk.Name, "err", err)
		} else {
			res[chk.Name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
		c.Header("Retry-After", problem.RetryAfterValue(g.cfg.StoreRetryAfter))
	}
	c.JSON(status, gin.H{"ready": ok, "checks": res})
}
