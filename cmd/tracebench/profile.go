package main

import (
	"os"
	"strings"

	"github.com/google/pprof/profile"
)

// tracingCode names the functions whose CPU time is tracing's own:
// OpenTelemetry (the SDK, the exporters, the gin, gRPC and HTTP
// instrumentation) and stickerd's tracing package.
var tracingCode = []string{"go.opentelemetry.io/", "github.com/stickerd/stickerd/internal/tracing."}

// tracingShare reads a stack process's CPU profile and returns the share
// of its CPU time spent with tracing code on the stack: what tracing costs
// directly, measured without the noise of a whole-stack timing. Garbage
// collection of what tracing allocated runs apart and is not in it.
func tracingShare(path string) (float64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return 0, false
	}
	cpu := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			cpu = i
		}
	}
	if cpu < 0 {
		return 0, false
	}
	var all, traced int64
	for _, s := range p.Sample {
		v := s.Value[cpu]
		all += v
		if inTracing(s) {
			traced += v
		}
	}
	if all == 0 {
		return 0, false
	}
	return float64(traced) / float64(all), true
}

func inTracing(s *profile.Sample) bool {
	for _, loc := range s.Location {
		for _, l := range loc.Line {
			if l.Function == nil {
				continue
			}
			for _, prefix := range tracingCode {
				if strings.HasPrefix(l.Function.Name, prefix) {
					return true
				}
			}
		}
	}
	return false
}
