package errevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stickerd/stickerd/internal/errcode"
)

func TestFromError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode errcode.Code
		wantMsg  string
	}{
		{"nil", nil, "", ""},
		{"typed", errcode.New(errcode.FFmpegFailed, "exit 1"), errcode.FFmpegFailed, "FFMPEG_FAILED: exit 1"},
		{"wrapped", fmt.Errorf("render job_1: %w", errcode.New(errcode.GPUError, "xid 79")), errcode.GPUError,
			"render job_1: GPU_ERROR: xid 79"},
		{"canceled", fmt.Errorf("run: %w", context.Canceled), errcode.Canceled, "run: context canceled"},
		{"untyped", errors.New("boom"), errcode.Internal, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := FromError("worker", tt.err, "job_1", "", "acme")
			if tt.err == nil {
				if e != (Event{}) {
					t.Fatalf("nil error gave %+v", e)
				}
				return
			}
			if e.Code != tt.wantCode || e.Message != tt.wantMsg {
				t.Fatalf("got %s %q, want %s %q", e.Code, e.Message, tt.wantCode, tt.wantMsg)
			}
			if e.Service != "worker" || e.JobID != "job_1" || e.Tenant != "acme" || e.Time.IsZero() {
				t.Fatalf("fields not carried: %+v", e)
			}
		})
	}
}

func TestFromError_TruncatesLongMessages(t *testing.T) {
	long := strings.Repeat("é", MaxMessageBytes) // 2 bytes each
	e := FromError("worker", errors.New(long), "", "", "")
	if len(e.Message) > MaxMessageBytes || !utf8.ValidString(e.Message) || !strings.HasSuffix(e.Message, "…") {
		t.Fatalf("message of %d bytes, valid=%v", len(e.Message), utf8.ValidString(e.Message))
	}
}

func TestEvent_WireShape(t *testing.T) {
	e := Event{Service: "edge", Code: errcode.RTCMediaFailed, SessionID: "rtc_1",
		Message: "m", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"code", "job_id", "message", "service", "session_id", "tenant", "time"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v (docs/api.md)", keys, want)
	}
	if m["time"] != "2026-01-02T03:04:05Z" {
		t.Fatalf("time %v", m["time"])
	}
	back, err := Parse(b)
	if err != nil || back != e {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestParse_Rejects(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `{"service":"gateway"}`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestEvent_Key(t *testing.T) {
	tests := []struct {
		e    Event
		want string
	}{
		{Event{Service: "worker", JobID: "job_1", SessionID: "rtc_1"}, "job_1"},
		{Event{Service: "edge", SessionID: "rtc_1"}, "rtc_1"},
		{Event{Service: "gateway"}, "gateway"},
	}
	for _, tt := range tests {
		if got := tt.e.Key(); got != tt.want {
			t.Errorf("Key(%+v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestBounded(t *testing.T) {
	tests := []struct {
		service, wantService string
		code, wantCode       errcode.Code
	}{
		{"gateway", "gateway", errcode.SpecInvalid, errcode.SpecInvalid},
		{"dev", "dev", errcode.Canceled, errcode.Canceled},
		{"Gateway", Unknown, "NOT_A_CODE", errcode.Internal},
		{"", Unknown, "", errcode.Internal},
	}
	for _, tt := range tests {
		if got := BoundedService(tt.service); got != tt.wantService {
			t.Errorf("BoundedService(%q) = %q, want %q", tt.service, got, tt.wantService)
		}
		if got := BoundedCode(tt.code); got != tt.wantCode {
			t.Errorf("BoundedCode(%q) = %q, want %q", tt.code, got, tt.wantCode)
		}
	}
}
