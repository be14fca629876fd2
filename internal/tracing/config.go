package tracing

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Config configures a process's tracing. Start from DefaultConfig.
type Config struct {
	// Endpoint is the OTLP collector: HOST:PORT (plain text), or an
	// http:// or https:// URL. Empty: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	// or OTEL_EXPORTER_OTLP_ENDPOINT when one is set, else tracing is off.
	Endpoint string
	// SampleRatio is the share of new traces kept, 0 to 1. Spans below a
	// sampled parent are always kept (parent-based sampling).
	SampleRatio float64
	// Service is the service.name of the process's spans;
	// OTEL_SERVICE_NAME wins when set.
	Service string
	// Instance is service.instance.id (a replica or worker id), optional.
	Instance string
}

// DefaultConfig is off, with the sample ratio that OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG ask for, else 1.
func DefaultConfig(service string) Config {
	return Config{SampleRatio: RatioFromEnv(), Service: service}
}

// ErrInvalidConfig is the cause of every Validate error.
var ErrInvalidConfig = errors.New("tracing: invalid config")

// Validate reports a configuration that cannot start.
func (c Config) Validate() error {
	var errs []error
	if math.IsNaN(c.SampleRatio) || c.SampleRatio < 0 || c.SampleRatio > 1 {
		errs = append(errs, fmt.Errorf("%w: sample ratio %v: want 0 to 1", ErrInvalidConfig, c.SampleRatio))
	}
	if c.Endpoint != "" {
		if _, _, err := parseEndpoint(c.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("%w: %v", ErrInvalidConfig, err))
		}
	}
	if c.Service == "" {
		errs = append(errs, fmt.Errorf("%w: a service name is required", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// On reports whether the configuration turns tracing on: an endpoint is
// given, here or in the environment, and OTEL_SDK_DISABLED or
// OTEL_TRACES_EXPORTER=none does not turn it off.
func (c Config) On() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return c.Endpoint != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// parseEndpoint splits an Endpoint into the exporter's host:port or URL
// form: url is set for a URL, hostPort for a bare HOST:PORT.
func parseEndpoint(e string) (hostPort, rawURL string, err error) {
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", "", fmt.Errorf("OTLP endpoint %q: want HOST:PORT or an http:// or https:// URL", e)
		}
		return "", e, nil
	}
	if _, port, err := net.SplitHostPort(e); err != nil || port == "" {
		return "", "", fmt.Errorf("OTLP endpoint %q: want HOST:PORT or an http:// or https:// URL", e)
	}
	return e, "", nil
}

// RatioFromEnv is the sampling ratio of the standard sampler variables:
// OTEL_TRACES_SAMPLER always_off is 0, a traceidratio sampler is its
// OTEL_TRACES_SAMPLER_ARG, anything else (or nothing) is 1.
func RatioFromEnv() float64 {
	switch strings.TrimPrefix(strings.ToLower(os.Getenv("OTEL_TRACES_SAMPLER")), "parentbased_") {
	case "always_off":
		return 0
	case "traceidratio":
		if r, err := strconv.ParseFloat(os.Getenv("OTEL_TRACES_SAMPLER_ARG"), 64); err == nil && r >= 0 && r <= 1 {
			return r
		}
	}
	return 1
}
