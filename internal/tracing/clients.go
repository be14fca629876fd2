package tracing

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
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
	return []grpc.DialOption{grpc.WithStatsHandler(sampledOnly{otelgrpc.NewClientHandler()})}
}

// sampledOnly hands h only the calls made inside a sampled trace. Others
// would get a span the sampler drops all the same, after h computed its
// name and attributes and handled every message of the call: the etcd
// client's watches and keep-alives, and each call of an untraced request.
type sampledOnly struct{ h stats.Handler }

func (s sampledOnly) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if !trace.SpanContextFromContext(ctx).IsSampled() {
		return ctx
	}
	return s.h.TagRPC(ctx, info)
}

// HandleRPC sees the context TagRPC returned: h's span when h took the
// call, the caller's unsampled one (or none) when it did not.
func (s sampledOnly) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	if trace.SpanContextFromContext(ctx).IsSampled() {
		s.h.HandleRPC(ctx, rs)
	}
}

func (s sampledOnly) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	return s.h.TagConn(ctx, info)
}

func (s sampledOnly) HandleConn(ctx context.Context, cs stats.ConnStats) { s.h.HandleConn(ctx, cs) }

// HTTPHandler gives each request to h a server span (OpenTelemetry's
// net/http instrumentation), continuing the caller's trace when it sent
// one; probes and scrapes get none. With tracing off it returns h.
func HTTPHandler(h http.Handler, server string) http.Handler {
	if !Enabled() {
		return h
	}
	traced := otelhttp.NewHandler(h, server, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		if r.Pattern == "" {
			return r.Method
		}
		if strings.Contains(r.Pattern, " ") {
			return r.Pattern // "GET /path"
		}
		return r.Method + " " + r.Pattern
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			h.ServeHTTP(w, r)
			return
		}
		ctx, ok := Admit(r.Context(), r.Header.Get("traceparent") != "")
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		traced.ServeHTTP(w, r.WithContext(ctx))
	})
}
