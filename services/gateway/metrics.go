package gateway

import (
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stickerd/stickerd/internal/metrics"
)

// gatewayMetrics are the gateway's own series, beside the shared ones of
// internal/metrics, in a registry of this Gateway so that several can
// live in one test binary. /metrics serves both.
type gatewayMetrics struct {
	reg      *prometheus.Registry
	failOpen *prometheus.CounterVec
	cache    *prometheus.CounterVec
	handler  gin.HandlerFunc
}

func newGatewayMetrics() *gatewayMetrics {
	m := &gatewayMetrics{
		reg: prometheus.NewRegistry(),
		failOpen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stickerd_gateway_fail_open_total",
			Help: "Requests served without an optional dependency that failed (cache, rate_limiter, idempotency, progress, queue_depth).",
		}, []string{"dependency"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stickerd_gateway_result_cache_total",
			Help: "Result-cache lookups of render submissions by result (hit, miss, uncacheable).",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.failOpen, m.cache)
	h := metrics.Handler(prometheus.Gatherers{prometheus.DefaultGatherer, m.reg}) // OpenMetrics too: exemplars
	m.handler = gin.WrapH(h)
	return m
}

func (g *Gateway) metrics(c *gin.Context) { g.met.handler(c) }
