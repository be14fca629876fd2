// Package tracing sets up OpenTelemetry tracing for a stickerd process and
// holds the few helpers its services share: carrying a trace context in
// Kafka headers, in the worker protocol and in a job record, tying log
// lines to spans, and instrumenting HTTP and gRPC clients.
//
// Tracing is off unless an OTLP endpoint is configured (a flag or the
// standard OTEL_EXPORTER_OTLP_* variables). Off, the global tracer provider
// stays OpenTelemetry's no-op one and Enabled reports false, so callers
// skip the work of carrying contexts and no instrumentation is installed:
// tracing off costs a boolean load where a span would start.
//
// Only entry points start traces. Admit decides whether a request that
// arrives is traced, at the configured ratio, before any instrumentation
// runs for it, so an untraced request pays for none; a client or producer
// span without a parent (a background etcd call, an error event) is
// dropped, and the etcd client's instrumentation sees only calls inside a
// sampled trace. Everything below a sampled entry point is kept, across
// processes, so a trace is whole or absent.
package tracing
