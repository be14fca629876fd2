package render

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/motion"
	"github.com/stickerd/stickerd/render/spec"
)

var update = flag.Bool("update", false, "rewrite golden files")

// planFor builds a plan without probing: every sticker is a 100x50 still
// (or animated) image in a fixed folder, the source a canvas.
func planFor(t testing.TB, s *spec.Spec, workDir string) *plan {
	p := &plan{canvas: &s.Source, format: s.Output.Format, quality: s.Output.Quality, workDir: workDir,
		source: media.Info{Kind: media.KindVideo, Width: s.Source.Width, Height: s.Source.Height,
			Duration: s.Source.Duration, FPS: spec.Value(s.Source.FPS, 30)}}
	p.width, p.height, _ = spec.OutputSize(s.Output, p.source.Width, p.source.Height)
	p.fps, p.duration = p.source.FPS, p.source.Duration
	p.encoder = EncoderChoice{Name: "libx264"}
	for i, st := range s.Stickers {
		l := layer{index: i, path: "/assets/sticker.png", loop: st.Loops(), start: spec.Value(st.Start, 0),
			info: media.Info{Kind: media.KindImage, Width: 100, Height: 50, Frames: 1}}
		if st.Type == spec.TypeText {
			l.path = filepath.Join(workDir, "text.png") // text arrives as a picture
			if plainText(st) {                          // or as a file drawtext reads
				l.draw = &drawText{textFile: filepath.Join(workDir, "text.txt"), fontFile: "/cache/font-sans.ttf",
					sizePx: 20, color: "0xFFFFFF@1", border: "0x000000@1", borderPx: 2}
			}
		}
		if st.Builtin == "confetti" {
			l.info.Kind, l.info.Frames, l.info.Codec, l.path = media.KindAnimated, 12, "gif", "/assets/anim.gif"
		}
		l.end = math.Min(spec.Value(st.End, p.duration), p.duration)
		l.props = motion.Build(st, 100/float64(p.width), l.end-l.start)
		p.layers = append(p.layers, l)
	}
	return p
}

func TestCompile_Golden(t *testing.T) {
	tests := []struct{ name, json string }{
		{"static", `{"source":{"color":"#000000","width":640,"height":360,"duration":2},"stickers":[
			{"type":"image","builtin":"heart","x":0.25,"width":0.2}]}`},
		{"keyframed", `{"source":{"color":"#102030","width":640,"height":360,"duration":4,"fps":25},"stickers":[
			{"type":"image","builtin":"heart","start":0.5,"end":3,"keyframes":[{"t":0,"x":0.1,"opacity":0},
			 {"t":1,"x":0.9,"rotation":90,"opacity":1,"easing":"ease-in-out"},{"t":2,"width":0.4,"easing":"step"}]},
			{"type":"text","text":"hi","animation":"pop"},
			{"type":"image","builtin":"confetti","width":0.3}],
			"output":{"format":"webm","quality":"high"}}`},
		{"gif", `{"source":{"color":"#FFFFFF","width":320,"height":240,"duration":1,"fps":10},"stickers":[
			{"type":"image","builtin":"star"}],"output":{"format":"gif"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := spec.Parse([]byte(tt.json), spec.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p := planFor(t, s, "/work")
			rs, _ := initialRate(p)
			p.workDir = t.TempDir() // opacity scripts are written here
			args, err := compile(p, rs, "/out/result.partial")
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(strings.Join(args, "\n"), p.workDir, "/work") + "\n"
			golden := filepath.Join("testdata", "golden", tt.name+".args")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestCompile_Golden -update)", err)
			}
			if got != string(want) {
				t.Errorf("arguments differ from %s:\n got: %s\nwant: %s", golden, got, want)
			}
		})
	}
}

var (
	chainRe        = regexp.MustCompile(`^(?:\[[0-9a-z:]+\])+([a-z_]+(?:@[a-z0-9]+)?)(?:=(.*))?\[s[0-9]+\]$`)
	optionRe       = regexp.MustCompile(`^[0-9A-Za-z_.()+\-*/\\,:=@#/ ]*$`)
	allowedFilters = map[string]bool{"format": true, "scale": true, "rotate": true, "sendcmd": true,
		"colorchannelmixer": true, "setpts": true, "overlay": true, "loop": true, "trim": true, "fps": true,
		"split": true, "palettegen": true, "paletteuse": true, "pad": true, "setsar": true, "drawtext": true}
)

// splitGraph splits a filter graph on unescaped ';' as ffmpeg does.
func splitGraph(g string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(g); i++ {
		switch g[i] {
		case '\\':
			cur.WriteByte(g[i])
			if i+1 < len(g) {
				i++
				cur.WriteByte(g[i])
			}
		case ';':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(g[i])
		}
	}
	return append(parts, cur.String())
}

func FuzzCompile(f *testing.F) {
	f.Add("Hello 👋", "pop", "ease-in", 0.5, 0.5, 0.2, 45.0, 1.0, 0.0, 2.0)
	f.Add(`'; [x] drawtext=text=%{pts}:x=1 \n \\`, "spin", "step", 0.0, 1.0, 4.0, -720.0, 0.0, 1.5, 1.6)
	f.Add("a:b=c,d[e];f", "fade-out", "linear", 1.0, 0.0, 0.001, 0.0, 0.5, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, text, animation, easing string, x, y, width, rotation, opacity, start, end float64) {
		doc := map[string]any{
			"source": map[string]any{"color": "#000000", "width": 320, "height": 240, "duration": 3},
			"stickers": []any{
				map[string]any{"type": "text", "text": text, "x": x, "y": y, "animation": animation,
					"keyframes": []any{map[string]any{"t": start, "width": width, "rotation": rotation, "opacity": opacity, "easing": easing}}},
				map[string]any{"type": "image", "builtin": "heart", "start": start, "end": end, "rotation": rotation},
			},
		}
		data, err := json.Marshal(doc)
		if err != nil {
			return // NaN or Inf: not expressible in JSON
		}
		s, err := spec.Parse(data, spec.ParseOptions{})
		if err != nil {
			return
		}
		p := planFor(t, s, t.TempDir())
		rs, _ := initialRate(p)
		args, err := compile(p, rs, "/out/x.partial")
		if err != nil {
			return
		}
		var graph string
		for i, a := range args {
			if a == "-filter_complex" {
				graph = args[i+1]
			}
			if len(strings.TrimSpace(text)) >= 3 && strings.Contains(a, strings.TrimSpace(text)) {
				t.Fatalf("user text reached ffmpeg's arguments: %q", a)
			}
		}
		// Structure: every chain is [inputs]filter=options[output] with a
		// filter from the engine's set and options of numbers, expressions
		// and engine paths only; nothing user-controlled can add a chain,
		// a filter or an option.
		if graph == "" {
			t.Fatal("no filter graph")
		}
		for _, chain := range splitGraph(graph) {
			m := chainRe.FindStringSubmatch(chain)
			if m == nil {
				t.Fatalf("chain %q is not one filter", chain)
			}
			name, _, _ := strings.Cut(m[1], "@")
			if !allowedFilters[name] {
				t.Fatalf("unexpected filter %q in %s", m[1], graph)
			}
			if !optionRe.MatchString(m[2]) {
				t.Fatalf("options %q carry unexpected characters", m[2])
			}
		}
	})
}
