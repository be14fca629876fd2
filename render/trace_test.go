package render

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestVideoCodec(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-i", "in.mp4", "-c:v", "libx264", "-c:a", "aac", "out.mp4"}, "libx264"},
		{[]string{"-f", "concat", "-i", "list", "-c", "copy", "out.mp4"}, "copy"},
		{[]string{"-i", "in.mp4", "-vcodec", "h264_nvenc", "out.mp4"}, "h264_nvenc"},
		{[]string{"-i", "in.mp4", "out.png"}, ""},
	} {
		if got := videoCodec(tc.args); got != tc.want {
			t.Errorf("videoCodec(%v) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestTraceFFmpeg: inside a trace, a run is a child span with the encoder
// and the realtime factor; outside one, nothing is recorded.
func TestTraceFFmpeg(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	defer otel.SetTracerProvider(prev)

	_, end := traceFFmpeg(context.Background(), []string{"-c:v", "libx264"}, 2)
	end(ffmpegOutcome{}, nil)
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans outside a trace", n)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "render")
	_, end = traceFFmpeg(ctx, []string{"-c:v", "libx264"}, 2)
	end(ffmpegOutcome{peakRSS: 1 << 20}, errors.New("ffmpeg failed"))
	parent.End()
	var s sdktrace.ReadOnlySpan
	for _, e := range rec.Ended() {
		if e.Name() == "ffmpeg" {
			s = e
		}
	}
	if s == nil || s.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("no ffmpeg span below the render: %v", rec.Ended())
	}
	attrs := map[string]any{}
	for _, a := range s.Attributes() {
		attrs[string(a.Key)] = a.Value.AsInterface()
	}
	if attrs["ffmpeg.encoder"] != "libx264" || attrs["ffmpeg.realtime_factor"] == nil || attrs["ffmpeg.peak_rss_bytes"] != int64(1<<20) {
		t.Fatalf("attributes %v", attrs)
	}
	if s.Status().Code.String() != "Error" || s.SpanKind() != trace.SpanKindInternal {
		t.Fatalf("status %v kind %v", s.Status(), s.SpanKind())
	}
}
