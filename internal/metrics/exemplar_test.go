package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

func TestObserve_ExemplarCarriesTheTrace(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "test_seconds", Help: "h", Buckets: []float64{1, 10}})
	reg.MustRegister(h)
	tid, _ := trace.TraceIDFromHex("0123456789abcdef0123456789abcdef")
	sid, _ := trace.SpanIDFromHex("0123456789abcdef")
	sampled := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	Observe(sampled, h, 5)
	Observe(context.Background(), h, 0.5) // no span: no exemplar, still counted

	srv := httptest.NewServer(Handler(reg))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), `test_seconds_bucket{le="10.0"} 2 # {trace_id="0123456789abcdef0123456789abcdef"} 5`) {
		t.Fatalf("no exemplar with the trace id in:\n%s", body)
	}
	if !strings.Contains(string(body), "test_seconds_count 2") {
		t.Fatalf("observations lost:\n%s", body)
	}
}
