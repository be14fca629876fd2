package gateway

import (
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"

	"github.com/stickerd/stickerd/internal/tracing"
)

// traceRequests is the server span of each API request (OpenTelemetry's
// gin instrumentation), the root of a render's trace: the job keeps its
// context, so the scheduler and the worker continue the trace. Probes and
// scrapes, every few seconds, would only bury the traces worth reading.
// Installed only while tracing is on (New): off, a request pays nothing.
//
// Whether a request is traced is decided first (tracing.Admit, at the
// sample ratio, or the caller's traceparent), so an untraced request skips
// the instrumentation altogether.
func traceRequests() gin.HandlerFunc {
	traced := otelgin.Middleware("stickerd-gateway")
	return func(c *gin.Context) {
		switch c.FullPath() {
		case "/healthz", "/readyz", "/metrics":
			c.Next()
			return
		}
		ctx, ok := tracing.Admit(c.Request.Context(), c.GetHeader("traceparent") != "")
		if !ok {
			c.Next()
			return
		}
		c.Request = c.Request.WithContext(ctx)
		traced(c)
	}
}

// tracingOn is whether New installs traceRequests.
func tracingOn() bool { return tracing.Enabled() }

// timingsSchema is the OpenAPI schema of a job's timings.
func timingsSchema() obj {
	at := func(what string) obj {
		return obj{"type": "string", "format": "date-time", "description": what}
	}
	return obj{"type": "object", "required": []string{"queued"},
		"description": "The job's timeline: when it was queued, then when each phase of its latest attempt ended; a phase not reached is absent.",
		"properties": obj{"queued": at("Submitted."), "assigned": at("Placed on a worker."), "started": at("The worker began."),
			"inputs_fetched": at("Every input was on the worker."), "encoded": at("ffmpeg finished."),
			"stored": at("The output was in the blob store."), "finished": at("The job ended.")}}
}
