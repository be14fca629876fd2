package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
)

func TestParse_SnapshotErrors(t *testing.T) {
	const (
		asset  = `{"asset_id":"ast_a"}`
		canvas = `{"color":"#000000","width":64,"height":64,"duration":2}`
	)
	req := func(src, output string) string {
		return `{"source":` + src + `,"stickers":[{"type":"image","asset_id":"ast_b"}],"output":{` + output + `}}`
	}
	tests := []struct {
		name, json, field, msg string
	}{
		{"time on mp4", req(asset, `"format":"mp4","time":1`), "output.time", "only png and jpg"},
		{"time on the default format", req(asset, `"time":1`), "output.time", "a mp4 renders the whole timeline"},
		{"time on gif", req(asset, `"format":"gif","time":0`), "output.time", "only png and jpg"},
		{"negative time", req(asset, `"format":"png","time":-0.5`), "output.time", "0 or more seconds"},
		{"time past a canvas's end", req(canvas, `"format":"jpg","time":2.5`), "output.time", "not before the end of the canvas (2 s)"},
		{"time at a canvas's end", req(canvas, `"format":"png","time":2`), "output.time", "not before the end"},
		{"time not a number", req(asset, `"format":"png","time":"30s"`), "output.time", "must be a number"},
		{"max_bytes on png", req(asset, `"format":"png","max_bytes":100000`), "output.max_bytes", "no size ceiling"},
		{"max_bytes on jpg", req(asset, `"format":"jpg","max_bytes":100000`), "output.max_bytes", "no size ceiling"},
		{"fps on jpg", req(asset, `"format":"jpg","fps":30`), "output.fps", "fps applies to video formats"},
		{"jpeg is not a format name", req(asset, `"format":"jpeg"`), "output.format", "png, jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json), ParseOptions{})
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code != errcode.SpecInvalid {
				t.Fatalf("want SPEC_INVALID, got %v", err)
			}
			for _, f := range e.Fields {
				if f.Field == tt.field && strings.Contains(f.Message, tt.msg) {
					return
				}
			}
			t.Fatalf("no error for field %q containing %q; got %v", tt.field, tt.msg, e.Fields)
		})
	}
}

func TestParse_SnapshotAccepted(t *testing.T) {
	tests := []struct {
		name   string
		output string
		time   float64
	}{
		{"png defaults to the first frame", `"format":"png"`, 0},
		{"jpg at a time", `"format":"jpg","time":1.5`, 1.5},
		{"just before a canvas's end", `"format":"png","time":1.99`, 1.99},
		// audio and render_mode are ignored on a snapshot, as gif ignores audio.
		{"audio and render_mode ignored", `"format":"png","time":1,"audio":false,"render_mode":"full","quality":"high"`, 1},
		// Odd sides are fine: a picture has no 4:2:0 video constraint to meet.
		{"odd size", `"format":"jpg","width":641,"height":361`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := `{"source":{"color":"#000000","width":64,"height":64,"duration":2},"stickers":[{"type":"text","text":"hi"}],"output":{` + tt.output + `}}`
			s, err := Parse([]byte(js), ParseOptions{})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if s.Output.Time == nil || *s.Output.Time != tt.time {
				t.Fatalf("output.time %v, want %g", s.Output.Time, tt.time)
			}
		})
	}
	// A video output has no time, even after defaults, so that specs that
	// mean the same render look the same.
	s, err := Parse([]byte(`{"source":{"asset_id":"ast_a"},"stickers":[{"type":"text","text":"hi"}]}`), ParseOptions{})
	if err != nil || s.Output.Time != nil {
		t.Fatalf("mp4: time %v, err %v", s.Output.Time, err)
	}
}

func TestOutputSize_SnapshotKeepsOddSides(t *testing.T) {
	for _, f := range []string{FormatPNG, FormatJPG} {
		w, h, fe := OutputSize(Output{Format: f, Width: 641}, 1920, 1080)
		if fe != nil || w != 641 || h != 361 {
			t.Errorf("%s: %dx%d (%v), want 641x361", f, w, h, fe)
		}
	}
}
