package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// Observe records v on o, with the trace of ctx as the observation's
// exemplar when ctx holds a sampled span: a latency panel then links a
// slow bucket to a trace that fell in it. Exemplars are served in the
// OpenMetrics format (Handler), which Prometheus asks for when its
// exemplar storage is on.
func Observe(ctx context.Context, o prometheus.Observer, v float64) {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		if eo, ok := o.(prometheus.ExemplarObserver); ok {
			eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String()})
			return
		}
	}
	o.Observe(v)
}
