package spec

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
)

const validSpec = `{
  "source":   { "asset_id": "ast_src1" },
  "stickers": [
    { "type": "image", "asset_id": "ast_img1", "start": 0.5, "end": 3.0,
      "x": 0.25, "y": 0.5, "width": 0.2, "rotation": 0, "opacity": 1,
      "keyframes": [ { "t": 0, "x": 0.1 }, { "t": 2.5, "x": 0.9, "easing": "ease-in-out" } ] },
    { "type": "text", "text": "Hello 👋", "font": "sans", "size": 0.08, "color": "#FFFFFF",
      "stroke_color": "#000000", "stroke_width": 0.004, "x": 0.5, "y": 0.85,
      "animation": "pop" }
  ],
  "output":   { "format": "mp4", "width": 1280, "height": 720, "fps": 30,
                "max_bytes": 3000000, "quality": "standard", "audio": true },
  "priority": "normal",
  "webhook_url": "https://example.com/hooks/stickerd",
  "metadata": { "campaign": "spring" }
}`

func TestParse_APIExample(t *testing.T) {
	s, err := Parse([]byte(validSpec), ParseOptions{})
	if err != nil {
		t.Fatalf("the example of docs/api.md is refused: %v", err)
	}
	if len(s.Stickers) != 2 || *s.Stickers[0].Start != 0.5 || s.Stickers[1].Text != "Hello 👋" {
		t.Fatalf("parsed wrong: %+v", s)
	}
	if *s.Stickers[1].Opacity != 1 || *s.Stickers[0].Keyframes[0].X != 0.1 || s.Stickers[0].Keyframes[0].Easing != "linear" {
		t.Fatal("defaults not applied")
	}
}

func TestParse_Defaults(t *testing.T) {
	s, err := Parse([]byte(`{"source":{"color":"#000000","width":64,"height":64,"duration":1},
		"stickers":[{"type":"text","text":"hi"}]}`), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := s.Stickers[0]
	switch {
	case s.Output.Format != "mp4", s.Output.Quality != "standard", !s.Output.AudioEnabled(), s.Output.RenderMode != "auto",
		s.Priority != "normal", *s.Source.FPS != 30, *st.X != 0.5, *st.Y != 0.5,
		*st.Opacity != 1, *st.Size != DefaultTextSize, st.Font != "sans", st.Color != "#FFFFFF",
		st.Animation != "none", st.End != nil:
		t.Fatalf("defaults wrong: %+v %+v", s, st)
	}
}

// mutate builds a request from the valid example with one edit, expressed
// as a JSON fragment replacement.
func TestParse_Errors(t *testing.T) {
	base := `{"source":{"asset_id":"ast_a"},"stickers":[%s],"output":{%s}%s}`
	img := `{"type":"image","asset_id":"ast_b"}`
	tests := []struct {
		name  string
		json  string
		field string
		msg   string
	}{
		{"malformed", `{"source":`, "", "malformed JSON"},
		{"not an object", `[1,2]`, "", "JSON object"},
		{"trailing data", `{} {}`, "", "after the top-level value"},
		{"unknown top field", `{"sorce":{}}`, "sorce", "unknown field"},
		{"unknown nested field", fmt3(base, `{"type":"image","asset_id":"ast_b","keyframes":[{"t":0,"xx":1}]}`, ``, ``), "stickers[0].keyframes[0].xx", "unknown field"},
		{"wrong type", fmt3(base, `{"type":"image","asset_id":"ast_b","x":"left"}`, ``, ``), "stickers[0].x", "must be a number"},
		{"int expected", fmt3(base, img, `"width":12.5`, ``), "output.width", "whole number"},
		{"no source", `{"stickers":[` + img + `]}`, "source", "exactly one"},
		{"two sources", `{"source":{"asset_id":"ast_a","url":"https://x.example/a.mp4"},"stickers":[` + img + `]}`, "source", "exactly one"},
		{"bad asset id", `{"source":{"asset_id":"nope"},"stickers":[` + img + `]}`, "source.asset_id", "asset id"},
		{"ftp url", `{"source":{"url":"ftp://x.example/a.mp4"},"stickers":[` + img + `]}`, "source.url", "http or https"},
		{"url credentials", `{"source":{"url":"https://u:p@x.example/a"},"stickers":[` + img + `]}`, "source.url", "without credentials"},
		{"path not allowed", `{"source":{"path":"a.mp4"},"stickers":[` + img + `]}`, "source.path", "local"},
		{"canvas bad color", `{"source":{"color":"red","width":64,"height":64,"duration":1},"stickers":[` + img + `]}`, "source.color", "#RRGGBB"},
		{"canvas no duration", `{"source":{"color":"#000000","width":64,"height":64},"stickers":[` + img + `]}`, "source.duration", "greater than 0"},
		{"canvas too big", `{"source":{"color":"#000000","width":4000,"height":64,"duration":1},"stickers":[` + img + `]}`, "source.width", "between"},
		{"canvas fields on asset", `{"source":{"asset_id":"ast_a","width":64},"stickers":[` + img + `]}`, "source.width", "only a blank canvas"},
		{"no stickers", `{"source":{"asset_id":"ast_a"},"stickers":[]}`, "stickers", "at least one"},
		{"too many stickers", fmt3(base, strings.Repeat(img+",", 64)+img, ``, ``), "stickers", "at most 64"},
		{"no type", fmt3(base, `{"asset_id":"ast_b"}`, ``, ``), "stickers[0].type", "required"},
		{"bad type", fmt3(base, `{"type":"video","asset_id":"ast_b"}`, ``, ``), "stickers[0].type", "image or text"},
		{"image two refs", fmt3(base, `{"type":"image","asset_id":"ast_b","builtin":"heart"}`, ``, ``), "stickers[0]", "exactly one"},
		{"unknown builtin", fmt3(base, `{"type":"image","builtin":"unicorn-xyz"}`, ``, ``), "stickers[0].builtin", "no built-in"},
		{"text field on image", fmt3(base, `{"type":"image","asset_id":"ast_b","text":"x"}`, ``, ``), "stickers[0].text", "only text"},
		{"loop on text", fmt3(base, `{"type":"text","text":"x","loop":false}`, ``, ``), "stickers[0].loop", "only image"},
		{"empty text", fmt3(base, `{"type":"text","text":"  "}`, ``, ``), "stickers[0].text", "required"},
		{"long text", fmt3(base, `{"type":"text","text":"`+strings.Repeat("é", 501)+`"}`, ``, ``), "stickers[0].text", "at most 500"},
		{"bad font", fmt3(base, `{"type":"text","text":"x","font":"comic"}`, ``, ``), "stickers[0].font", "sans, serif, mono"},
		{"bad size", fmt3(base, `{"type":"text","text":"x","size":1.5}`, ``, ``), "stickers[0].size", "at most 1"},
		{"bad stroke", fmt3(base, `{"type":"text","text":"x","stroke_width":-1}`, ``, ``), "stickers[0].stroke_width", "between 0"},
		{"bad stroke color", fmt3(base, `{"type":"text","text":"x","stroke_color":"#12345"}`, ``, ``), "stickers[0].stroke_color", "#RRGGBB"},
		{"negative start", fmt3(base, `{"type":"image","asset_id":"ast_b","start":-1}`, ``, ``), "stickers[0].start", "0 or more"},
		{"end before start", fmt3(base, `{"type":"image","asset_id":"ast_b","start":2,"end":1}`, ``, ``), "stickers[0].end", "greater than start"},
		{"end equals start", fmt3(base, `{"type":"image","asset_id":"ast_b","start":2,"end":2}`, ``, ``), "stickers[0].end", "greater than start"},
		{"x out of range", fmt3(base, `{"type":"image","asset_id":"ast_b","x":1.5}`, ``, ``), "stickers[0].x", "between 0 and 1"},
		{"opacity out of range", fmt3(base, `{"type":"image","asset_id":"ast_b","opacity":-0.1}`, ``, ``), "stickers[0].opacity", "between 0 and 1"},
		{"zero width", fmt3(base, `{"type":"image","asset_id":"ast_b","width":0}`, ``, ``), "stickers[0].width", "greater than 0"},
		{"huge rotation", fmt3(base, `{"type":"image","asset_id":"ast_b","rotation":1e9}`, ``, ``), "stickers[0].rotation", "degrees"},
		{"keyframe negative t", fmt3(base, `{"type":"image","asset_id":"ast_b","keyframes":[{"t":-1,"x":0}]}`, ``, ``), "stickers[0].keyframes[0].t", "0 or more"},
		{"keyframe order", fmt3(base, `{"type":"image","asset_id":"ast_b","keyframes":[{"t":1,"x":0},{"t":1,"x":1}]}`, ``, ``), "stickers[0].keyframes[1].t", "increase"},
		{"keyframe empty", fmt3(base, `{"type":"image","asset_id":"ast_b","keyframes":[{"t":1}]}`, ``, ``), "stickers[0].keyframes[0]", "at least one"},
		{"keyframe bad value", fmt3(base, `{"type":"image","asset_id":"ast_b","keyframes":[{"t":1,"y":2}]}`, ``, ``), "stickers[0].keyframes[0].y", "between 0 and 1"},
		{"bad easing", fmt3(base, `{"type":"image","asset_id":"ast_b","keyframes":[{"t":1,"x":0,"easing":"wobble"}]}`, ``, ``), "stickers[0].keyframes[0].easing", "one of"},
		{"too many keyframes", fmt3(base, `{"type":"image","asset_id":"ast_b","keyframes":[`+manyKeyframes(65)+`]}`, ``, ``), "stickers[0].keyframes", "at most 64"},
		{"bad animation", fmt3(base, `{"type":"image","asset_id":"ast_b","animation":"explode"}`, ``, ``), "stickers[0].animation", "one of"},
		{"bad format", fmt3(base, img, `"format":"avi"`, ``), "output.format", "one of"},
		{"odd mp4 width", fmt3(base, img, `"width":641,"height":480`, ``), "output.width", "even"},
		{"output too big", fmt3(base, img, `"width":4000,"height":2000`, ``), "output.width", "between"},
		{"output over 4k", fmt3(base, img, `"width":3000,"height":3000`, ``), "output", "over the limit"},
		{"derived height over the limit", `{"source":{"color":"#000000","width":16,"height":3840,"duration":1},"stickers":[` + img + `],"output":{"format":"gif","width":64}}`, "output.width", "height would be 15360"},
		{"derived width over the limit", `{"source":{"color":"#000000","width":3840,"height":16,"duration":1},"stickers":[` + img + `],"output":{"format":"gif","height":256}}`, "output.height", "width would be 61440"},
		{"derived short side over the limit", `{"source":{"color":"#000000","width":2000,"height":2000,"duration":1},"stickers":[` + img + `],"output":{"width":3000}}`, "output.width", "over the limit of 3840x2160"},
		{"fps too high", fmt3(base, img, `"fps":120`, ``), "output.fps", "between 1 and 60"},
		{"max_bytes tiny", fmt3(base, img, `"max_bytes":100`, ``), "output.max_bytes", "at least"},
		{"bad quality", fmt3(base, img, `"quality":"ultra"`, ``), "output.quality", "one of"},
		{"bad render mode", fmt3(base, img, `"render_mode":"smart"`, ``), "output.render_mode", "one of auto, full"},
		{"bad priority", fmt3(base, img, ``, `,"priority":"urgent"`), "priority", "one of"},
		{"bad webhook", fmt3(base, img, ``, `,"webhook_url":"javascript:alert(1)"`), "webhook_url", "http or https"},
		{"metadata not strings", fmt3(base, img, ``, `,"metadata":{"a":1}`), "metadata.a", "must be a string"},
		{"too deep", strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40), "", "nested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json), ParseOptions{})
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code != errcode.SpecInvalid {
				t.Fatalf("want SPEC_INVALID, got %v", err)
			}
			if tt.field == "" {
				if !strings.Contains(e.Message, tt.msg) {
					t.Fatalf("message %q lacks %q", e.Message, tt.msg)
				}
				return
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

func TestParse_CollectsAllErrors(t *testing.T) {
	_, err := Parse([]byte(`{"source":{"asset_id":"ast_a"},"stickers":[
		{"type":"image","asset_id":"ast_b","x":2},
		{"type":"text","text":"","size":0}],"output":{"format":"avi"}}`), ParseOptions{})
	var e *errcode.Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	want := []string{"stickers[0].x", "stickers[1].text", "stickers[1].size", "output.format"}
	for _, w := range want {
		found := false
		for _, f := range e.Fields {
			found = found || f.Field == w
		}
		if !found {
			t.Errorf("missing %s in %v", w, e.Fields)
		}
	}
}

func TestParse_AllowPaths(t *testing.T) {
	j := `{"source":{"path":"in.mp4"},"stickers":[{"type":"image","path":"s.png"},{"type":"text","text":"x","font":"my.ttf"}]}`
	if _, err := Parse([]byte(j), ParseOptions{AllowPaths: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse([]byte(j), ParseOptions{}); err == nil {
		t.Fatal("paths accepted without AllowPaths")
	}
}

func TestParseColor(t *testing.T) {
	c := ParseColor("#102030")
	if c.R != 0x10 || c.G != 0x20 || c.B != 0x30 || c.A != 255 {
		t.Fatal(c)
	}
	c = ParseColor("#10203040")
	if c.A != 0x40 {
		t.Fatal(c)
	}
}

func fmt3(base, stickers, output, extra string) string {
	return strings.Replace(strings.Replace(strings.Replace(base, "%s", stickers, 1), "%s", output, 1), "%s", extra, 1)
}

func manyKeyframes(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `{"t":` + strconv.Itoa(i) + `,"x":0.5}`
	}
	return strings.Join(parts, ",")
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(validSpec))
	f.Add([]byte(`{"source":{"color":"#000000","width":64,"height":64,"duration":1},"stickers":[{"type":"text","text":"a"}]}`))
	f.Add([]byte(`{"stickers":[{"keyframes":[{"t":1e308}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, ParseOptions{})
		if err != nil {
			if errcode.Of(err) != errcode.SpecInvalid {
				t.Fatalf("error without SPEC_INVALID: %v", err)
			}
			return
		}
		if err := s.Validate(ParseOptions{}); err != nil {
			t.Fatalf("a parsed spec fails validation again: %v", err)
		}
	})
}
