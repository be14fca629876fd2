package render

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer names the engine's spans. The engine is a library: it uses the
// OpenTelemetry API only, and the process that links it decides whether
// spans go anywhere. It is looked up at each span, as the global tracers
// follow only the first provider a process installs.
func tracer() trace.Tracer { return otel.Tracer("github.com/stickerd/stickerd/render") }

// traceFFmpeg starts the span of one ffmpeg process, below the caller's
// span (a worker's render), and returns the function that ends it with
// what the run measured: the encoder, the seconds of video it wrote and
// how many of them per wall second (the realtime factor). Outside a trace
// it does nothing, so tracing off costs one context lookup per process.
func traceFFmpeg(ctx context.Context, args []string, duration float64) (context.Context, func(ffmpegOutcome, error)) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, func(ffmpegOutcome, error) {}
	}
	start := time.Now()
	ctx, span := tracer().Start(ctx, "ffmpeg", trace.WithAttributes(
		attribute.String("ffmpeg.encoder", videoCodec(args)), attribute.Float64("ffmpeg.output_seconds", duration),
		attribute.Int("ffmpeg.args", len(args))))
	return ctx, func(run ffmpegOutcome, err error) {
		if wall := time.Since(start).Seconds(); duration > 0 && wall > 0 {
			span.SetAttributes(attribute.Float64("ffmpeg.realtime_factor", duration/wall))
		}
		if run.peakRSS > 0 {
			span.SetAttributes(attribute.Int64("ffmpeg.peak_rss_bytes", run.peakRSS))
		}
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// videoCodec is the video encoder an ffmpeg command line names (the last
// -c:v, or -c for every stream: "copy" for a stream copy), "" when none.
func videoCodec(args []string) string {
	name := ""
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-c:v", "-codec:v", "-vcodec", "-c", "-codec":
			name = args[i+1]
		}
	}
	return name
}
