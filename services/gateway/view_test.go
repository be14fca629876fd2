package gateway

import (
	"testing"

	"github.com/stickerd/stickerd/internal/jobs"
)

// An INTERNAL error is a bug whose text (a local path, an address) is for
// the logs; the job shows clients only its code.
func TestViewJob_HidesInternalErrorText(t *testing.T) {
	tests := []struct {
		name string
		in   jobs.Error
		want string
	}{
		{"internal", jobs.Error{Code: "INTERNAL", Message: "open /var/lib/stickerd/work/job_1-3.mp4: no space left on device"},
			internalJobMessage},
		{"attempts exhausted, last internal", jobs.Error{Code: "ATTEMPTS_EXHAUSTED",
			Message: "gave up after 3 attempts; last: INTERNAL: dial tcp 10.0.3.7:9000: connection refused"},
			"gave up after 3 attempts; last: INTERNAL: " + internalJobMessage},
		{"typed error kept", jobs.Error{Code: "ASSET_FETCH_FAILED", Message: "source: cdn.example.com answered HTTP 404 Not Found"},
			"source: cdn.example.com answered HTTP 404 Not Found"},
		{"attempts exhausted, last typed", jobs.Error{Code: "ATTEMPTS_EXHAUSTED", Message: "gave up after 3 attempts; last: FFMPEG_FAILED: exit 1"},
			"gave up after 3 attempts; last: FFMPEG_FAILED: exit 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.in
			v := viewJob(&jobs.Job{ID: "job_1", Error: &e})
			if v.Error == nil || v.Error.Code != tt.in.Code || v.Error.Message != tt.want {
				t.Fatalf("error %+v, want message %q", v.Error, tt.want)
			}
			if e != tt.in {
				t.Fatal("the stored job was changed")
			}
		})
	}
}
