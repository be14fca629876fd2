package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

func TestStatus_ShowsTimelineAndTrace(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) *time.Time { v := t0.Add(time.Duration(ms) * time.Millisecond); return &v }
	for _, tc := range []struct {
		name string
		t    stickerd.Timings
		want string
	}{
		{"done", stickerd.Timings{Queued: t0, Assigned: at(20), Started: at(25), InputsFetched: at(125), Encoded: at(1125), Stored: at(1175), Finished: at(1180)},
			"queued 0.02s, fetch 0.10s, encode 1.00s, store 0.05s, total 1.18s"},
		{"running", stickerd.Timings{Queued: t0, Assigned: at(20)}, "queued 0.02s"},
		{"queued", stickerd.Timings{Queued: t0}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeTimings(tc.t); got != tc.want {
				t.Fatalf("describeTimings = %q, want %q", got, tc.want)
			}
		})
	}
	var b bytes.Buffer
	printJob(&b, &stickerd.Job{ID: "job_1", Status: "succeeded", CreatedAt: t0, TraceID: "0123456789abcdef0123456789abcdef",
		Timings: stickerd.Timings{Queued: t0, Assigned: at(20), Finished: at(1180)}})
	if out := b.String(); !strings.Contains(out, "  timeline queued 0.02s, total 1.18s\n") || !strings.Contains(out, "  trace 0123456789abcdef0123456789abcdef\n") {
		t.Fatalf("status prints:\n%s", out)
	}
}
