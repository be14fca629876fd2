package tracing

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
)

// HTTPTransport instruments an HTTP client's transport: a client span per
// request below the caller's span. The trace context is not sent: the
// clients this wraps call other parties' servers (a webhook receiver, a
// URL a spec names), which have no use for stickerd's trace ids. With
// tracing off it returns rt as it is.
func HTTPTransport(rt http.RoundTripper) http.RoundTripper {
	if !Enabled() {
		return rt
	}
	return otelhttp.NewTransport(rt, otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()))
}

// GRPCClientOptions instrument a gRPC client whose calls are short (etcd's
// KV requests): a client span per call below the caller's span. None with
// tracing off.
func GRPCClientOptions() []grpc.DialOption {
	if !Enabled() {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler())}
}

// HTTPHandler gives each request to h a server span (OpenTelemetry's
// net/http instrumentation), continuing the caller's trace when it sent
// one; probes and scrapes get none. With tracing off it returns h.
func HTTPHandler(h http.Handler, server string) http.Handler {
	if !Enabled() {
		return h
	}
	return otelhttp.NewHandler(h, server, otelhttp.WithFilter(func(r *http.Request) bool {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			return false
		}
		return true
	}), otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		if r.Pattern == "" {
			return r.Method
		}
		if strings.Contains(r.Pattern, " ") {
			return r.Pattern // "GET /path"
		}
		return r.Method + " " + r.Pattern
	}))
}
