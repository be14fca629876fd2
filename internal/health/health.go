// Package health serves the three endpoints every stickerd process has on
// its HTTP address: GET /healthz (alive), GET /readyz (dependencies
// reachable) and GET /metrics (Prometheus).
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness probe of a dependency.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Handler returns the mux with the three endpoints; extra routes can be
// added to it.
func Handler(checks ...Check) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		res := map[string]string{}
		ok := true
		for _, c := range checks {
			if err := c.Fn(ctx); err != nil {
				res[c.Name], ok = err.Error(), false
			} else {
				res[c.Name] = "ok"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": res})
	})
	// OpenMetrics, for a scraper that asks for it, carries the latency
	// histograms' exemplars (trace ids).
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(prometheus.DefaultRegisterer,
		promhttp.HandlerFor(prometheus.DefaultGatherer, promhttp.HandlerOpts{EnableOpenMetrics: true})))
	return mux
}
