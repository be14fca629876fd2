package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/stickerd/stickerd/internal/tracing"
)

// tracingOpts are the OpenTelemetry flags every serving command has.
type tracingOpts struct {
	fs       *flag.FlagSet
	service  string
	endpoint *string
	ratio    *float64
}

func tracingFlags(fs *flag.FlagSet, service string) tracingOpts {
	d := tracing.DefaultConfig(service)
	return tracingOpts{fs: fs, service: service,
		endpoint: fs.String("otlp-endpoint", "", "OpenTelemetry collector that receives traces: HOST:PORT (OTLP over gRPC, plain text) or an http(s):// URL; "+
			"empty: OTEL_EXPORTER_OTLP_ENDPOINT when set, else tracing is off (the other OTEL_* variables are honoured too)"),
		ratio: fs.Float64("trace-sample-ratio", d.SampleRatio, "share of requests that start a trace, 0 to 1; every span of a sampled request's render is kept, across processes "+
			"(default: what OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG say, else 1)"),
	}
}

// start turns tracing on as the flags say, for the process named service
// (stickerd-COMMAND) and instance (a replica or worker id, optional), and
// returns what flushes it on the way out. Call it before the process dials
// etcd or builds its services: they instrument themselves only when
// tracing is on at that moment.
func (o tracingOpts) start(ctx context.Context, log *slog.Logger, instance string) (stop func(), err error) {
	c := tracing.Config{Endpoint: *o.endpoint, SampleRatio: *o.ratio, Service: "stickerd-" + o.service, Instance: instance}
	if err := c.Validate(); err != nil {
		return nil, errUsage{o.fs, err}
	}
	shutdown, err := tracing.Start(ctx, c)
	if err != nil {
		return nil, err
	}
	if c.On() {
		log.Info("tracing on", "otlp_endpoint", c.Endpoint, "sample_ratio", c.SampleRatio)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn("tracing: spans not flushed on exit", "err", err)
		}
	}, nil
}
