package webui

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/stickerd/stickerd/render/motion"
	renderspec "github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/render/text"
)

// TestMotionJS checks that the stage's motion.js puts a sticker where the
// engine's render/motion does, for keyframes, easings and presets, at
// every tenth of a second of its window.
func TestMotionJS(t *testing.T) {
	env := startPage(t)
	const natural, d = 0.25, 3.0
	stickers := []string{
		`{"x":0.2,"keyframes":[{"t":2,"x":0.8}]}`,
		`{"x":0.1,"y":0.3,"rotation":10,"keyframes":[{"t":0,"x":0.2,"opacity":0.5},{"t":1,"x":0.9,"easing":"ease-in"},
			{"t":1.5,"y":0.9,"rotation":-45,"easing":"ease-in-out"},{"t":2.5,"x":0.4,"width":0.5,"easing":"step"}]}`,
		`{"x":0.5,"keyframes":[{"t":0.5,"x":0.7,"easing":"ease-out"}],"animation":"fade-in"}`,
		`{"animation":"pop","width":0.3,"opacity":0.8}`,
		`{"animation":"bounce","y":0.6}`,
		`{"animation":"spin","rotation":30}`,
		`{"animation":"slide-in-left"}`, `{"animation":"slide-in-right"}`,
		`{"animation":"slide-in-top"}`, `{"animation":"slide-in-bottom"}`, `{"animation":"fade-out"}`,
	}
	for _, js := range stickers {
		var st renderspec.Sticker
		if err := json.Unmarshal([]byte(js), &st); err != nil {
			t.Fatal(err)
		}
		p := motion.Build(st, natural, d)
		expr := fmt.Sprintf(`import('/ui/motion.js').then((m) => {
			const st = %s;
			const base = {x: st.x ?? 0.5, y: st.y ?? 0.5, width: st.width ?? %g, rotation: st.rotation ?? 0, opacity: st.opacity ?? 1};
			const out = [];
			for (let i = 0; i <= 30; i++) out.push(m.propsAt(base, st.keyframes, st.animation || 'none', i / 10, %g));
			return out;
		})`, js, natural, d)
		got := eval[[]map[string]float64](t, env, expr)
		for i, v := range got {
			at := float64(i) / 10
			want := map[string]float64{"x": p.X.At(at), "y": p.Y.At(at), "width": p.Width.At(at), "rotation": p.Rotation.At(at), "opacity": p.Opacity.At(at)}
			for k, w := range want {
				if math.Abs(v[k]-w) > 1e-9 {
					t.Errorf("%s at %g s: %s = %g in the studio, %g in the engine", js, at, k, v[k], w)
				}
			}
		}
	}
}

// TestFontsJS checks that fonts.js reads the built-in fonts' units per em
// and line metrics as the engine does (sfnt, hhea), so that the preview's
// em per line height is the engine's.
func TestFontsJS(t *testing.T) {
	env := startPage(t)
	for _, name := range []string{text.FontSans, text.FontSerif, text.FontMono} {
		src, _ := text.FontFile(name)
		f, err := sfnt.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		var buf sfnt.Buffer
		upem := f.UnitsPerEm()
		m, err := f.Metrics(&buf, fixed.Int26_6(upem), font.HintingNone)
		if err != nil {
			t.Fatal(err)
		}
		got := eval[map[string]float64](t, env, fmt.Sprintf(`import('/ui/fonts.js').then(async (m) =>
			m.metrics(await (await fetch('/ui/fonts/%s.ttf')).arrayBuffer()))`, name))
		if got["upem"] != float64(upem) || got["ascent"] != float64(m.Ascent) || got["descent"] != float64(m.Descent) {
			t.Errorf("%s: the studio reads %v, the engine upem %d, ascent %d, descent %d", name, got, upem, m.Ascent, m.Descent)
		}
	}
}
