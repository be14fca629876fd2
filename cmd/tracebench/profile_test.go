package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/pprof/profile"
)

// A profile of three samples, one of them under an OpenTelemetry frame:
// a quarter of the CPU time (by value, not by count) is tracing's.
func TestTracingShare(t *testing.T) {
	fn := func(id uint64, name string) *profile.Function { return &profile.Function{ID: id, Name: name} }
	handler := fn(1, "github.com/stickerd/stickerd/services/gateway.(*Gateway).submitRender")
	otel := fn(2, "go.opentelemetry.io/otel/sdk/trace.(*tracer).Start")
	etcd := fn(3, "go.etcd.io/etcd/server/v3/etcdserver.(*EtcdServer).Range")
	loc := func(id uint64, f *profile.Function) *profile.Location {
		return &profile.Location{ID: id, Line: []profile.Line{{Function: f}}}
	}
	lh, lo, le := loc(1, handler), loc(2, otel), loc(3, etcd)
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{lo, lh}, Value: []int64{1, 10}},
			{Location: []*profile.Location{lh}, Value: []int64{1, 10}},
			{Location: []*profile.Location{le}, Value: []int64{1, 20}},
		},
		Location: []*profile.Location{lh, lo, le},
		Function: []*profile.Function{handler, otel, etcd},
	}
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if share, ok := tracingShare(path); !ok || share != 0.25 {
		t.Fatalf("share %v (%v), want 0.25", share, ok)
	}
	if _, ok := tracingShare(filepath.Join(t.TempDir(), "none")); ok {
		t.Fatal("a missing profile gave a share")
	}
}
