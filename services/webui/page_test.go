package webui

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// spec is the part of a submitted render request the page test checks.
type spec struct {
	Source struct {
		AssetID  string  `json:"asset_id"`
		Color    string  `json:"color"`
		Width    int     `json:"width"`
		Height   int     `json:"height"`
		Duration float64 `json:"duration"`
	} `json:"source"`
	Stickers []struct {
		Type    string  `json:"type"`
		Builtin string  `json:"builtin"`
		AssetID string  `json:"asset_id"`
		Text    string  `json:"text"`
		X       float64 `json:"x"`
		Y       float64 `json:"y"`
		Width   float64 `json:"width"`
	} `json:"stickers"`
	Output struct{ Format string } `json:"output"`
}

// lastSpec is the last render request the fake accepted.
func (env *pageEnv) lastSpec(t *testing.T) spec {
	t.Helper()
	subs := env.fake.Submits()
	if len(subs) == 0 {
		t.Fatal("no render was submitted")
	}
	var s spec
	if err := json.Unmarshal(subs[len(subs)-1].Body, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// dragTo drags the sticker's centre to the stage point (fx, fy), in fractions.
func (env *pageEnv) dragTo(t *testing.T, sticker string, fx, fy float64) {
	t.Helper()
	stage, st := env.box(t, "#stage"), env.box(t, sticker)
	from := [2]float64{st.X + st.W/2, st.Y + st.H/2}
	to := [2]float64{stage.X + fx*stage.W, stage.Y + fy*stage.H}
	env.do(t, "dragging "+sticker, pointerDrag(from, to))
}

func (env *pageEnv) addBuiltin(t *testing.T, name string) {
	env.do(t, "adding "+name, chromedp.Click(chromedp.CSS(`.palette-item[data-name="`+name+`"]`)))
	env.waitFor(t, "the sticker's image", `(() => { const i = document.querySelector('.sticker.selected img');
		return !!i && i.complete && i.naturalWidth > 0; })()`)
}

func (env *pageEnv) renderAndWait(t *testing.T) {
	env.do(t, "clicking Render", chromedp.Click(chromedp.ID("render")))
	env.waitFor(t, "the result", `!document.getElementById('result').hidden`)
}

func TestPage_PlaceStickersAndRender(t *testing.T) {
	env := startPage(t)
	clip, logo := writeFile(t, "clip.mp4", []byte(strings.Repeat("not a real video ", 64))), writeFile(t, "logo.png", pngImage(t))
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"video source: drag and resize a sticker", func(t *testing.T) {
			env.do(t, "loading", chromedp.Navigate(env.url), chromedp.WaitVisible(chromedp.CSS(`.palette-item[data-name="heart"]`)),
				chromedp.SetUploadFiles(chromedp.ID("video-file"), []string{clip}))
			env.waitFor(t, "the upload", `document.getElementById('upload-status').textContent.startsWith('Uploaded')`)
			env.addBuiltin(t, "heart")
			env.dragTo(t, ".sticker.selected", 0.25, 0.3)
			stage, handle := env.box(t, "#stage"), env.box(t, ".sticker.selected .handle")
			from := [2]float64{handle.X + handle.W/2, handle.Y + handle.H/2}
			env.do(t, "resizing", pointerDrag(from, [2]float64{from[0] + 0.1*stage.W, from[1]}),
				chromedp.SetUploadFiles(chromedp.ID("sticker-file"), []string{logo}))
			env.waitFor(t, "the sticker upload", `document.getElementById('upload-status').textContent.startsWith('Uploaded sticker')`)
			env.renderAndWait(t)
			s := env.lastSpec(t)
			up, ok := env.fake.Asset(s.Source.AssetID)
			if !ok || up.Filename != "clip.mp4" || len(s.Stickers) != 2 {
				t.Fatalf("spec %+v", s)
			}
			if own, ok := env.fake.Asset(s.Stickers[1].AssetID); !ok || own.Filename != "logo.png" {
				t.Fatalf("own sticker %+v", s.Stickers[1])
			}
			if st := s.Stickers[0]; st.Builtin != "heart" || !near(st.X, 0.25) || !near(st.Y, 0.3) || !near(st.Width, 0.4) {
				t.Fatalf("sticker %+v, want heart at (0.25, 0.3), width 0.4", st)
			}
			if got := eval[string](t, env, `document.querySelector('#result-media video').getAttribute('src')`); !strings.HasSuffix(got, "/output") {
				t.Fatalf("result plays %q", got)
			}
		}},
		{"blank canvas: arrow keys, text and a GIF", func(t *testing.T) {
			env.do(t, "loading", chromedp.Navigate(env.url), chromedp.WaitVisible(chromedp.CSS(`.palette-item[data-name="star"]`)),
				chromedp.Click(chromedp.CSS("#canvas-options summary")), chromedp.SetValue(chromedp.ID("canvas-height"), "960"),
				chromedp.Click(chromedp.ID("use-canvas")))
			env.addBuiltin(t, "star")
			env.dragTo(t, ".sticker.selected", 0.7, 0.6)
			env.do(t, "moving with the keyboard", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown),
				chromedp.KeyEvent(kb.ArrowDown), chromedp.Click(chromedp.ID("add-text")), chromedp.SetValue(chromedp.ID("format"), "gif"))
			env.renderAndWait(t)
			s := env.lastSpec(t)
			src := s.Source
			if src.Color != "#1E3A5F" || src.Width != 1280 || src.Height != 960 || src.Duration != 4 || s.Output.Format != "gif" {
				t.Fatalf("spec %+v", s)
			}
			if len(s.Stickers) != 2 || s.Stickers[0].Builtin != "star" || !near(s.Stickers[0].X, 0.7) || !near(s.Stickers[0].Y, 0.63) {
				t.Fatalf("stickers %+v, want star at (0.7, 0.63)", s.Stickers)
			}
			if s.Stickers[1].Type != "text" || s.Stickers[1].Text != "Hello 👋" {
				t.Fatalf("text sticker %+v", s.Stickers[1])
			}
			env.waitFor(t, "the GIF", `document.querySelector('#result-media img')?.naturalWidth > 0`)
			eval[any](t, env, `window.scrollTo(0, 0)`)
			png, err := chromedp.Run(env.ctx, chromedp.CaptureScreenshot())
			if err == nil {
				err = os.WriteFile("/tmp/webui.png", png, 0o644)
			}
			if err != nil {
				t.Logf("screenshot: %v", err)
			}
		}},
		{"a refused render shows its field paths", func(t *testing.T) {
			env.refuse.Store(true)
			defer env.refuse.Store(false)
			env.do(t, "clicking Render", chromedp.Click(chromedp.ID("render")))
			env.waitFor(t, "the errors", `!document.getElementById('errors').hidden`)
			got := eval[string](t, env, `document.getElementById('errors').textContent`)
			if !strings.Contains(got, "SPEC_INVALID") || !strings.Contains(got, "stickers[0].width: must be at most 4") {
				t.Fatalf("errors say %q", got)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return // the next steps build on this one
		}
	}
}

// TestSpecJS runs spec.js, the pure module that builds the render request,
// on a table of projects.
func TestSpecJS(t *testing.T) {
	env := startPage(t)
	tests := []struct {
		name, project, want string
		call                string // the call of m on the project p; buildSpec(p), or checkProject(p) for a list
	}{
		{"image stickers by builtin and asset",
			`{"source":{"kind":"asset","assetId":"ast_1"},"stickers":[
				{"kind":"builtin","name":"heart","x":0.123456,"y":1.5,"width":0.2,"start":0,"end":null,"animation":"none"},
				{"kind":"asset","assetId":"ast_2","x":-1,"y":0.5,"width":0.33333,"start":1.25,"end":3,"animation":"pop"}],
				"output":{"format":"mp4","quality":"standard"}}`,
			`{"source":{"asset_id":"ast_1"},"stickers":[
				{"type":"image","builtin":"heart","x":0.1235,"y":1,"width":0.2},
				{"type":"image","asset_id":"ast_2","x":0,"y":0.5,"width":0.3333,"start":1.25,"end":3,"animation":"pop"}]}`, ""},
		{"text on a canvas",
			`{"source":{"kind":"canvas","color":"#abc","width":1279,"height":720,"duration":2.5},"stickers":[
				{"kind":"text","text":"Hi 👋","color":"#ff0000","size":0.08,"outline":true,"x":0.5,"y":0.85}],
				"output":{"format":"webm","quality":"high"}}`,
			`{"source":{"color":"#AABBCC","width":1280,"height":720,"duration":2.5,"fps":30},"stickers":[
				{"type":"text","text":"Hi 👋","font":"sans","size":0.08,"color":"#FF0000","stroke_color":"#000000",
				 "stroke_width":0.005,"x":0.5,"y":0.85}],"output":{"format":"webm","quality":"high"}}`, ""},
		{"what is missing",
			`{"source":null,"stickers":[{"kind":"text","text":" ","x":0.5,"y":0.5,"start":2,"end":1}],"output":{}}`,
			`[{"field":"source","message":"pick a video or a blank canvas first"},
			  {"field":"stickers[0].text","message":"is empty"},{"field":"stickers[0].end","message":"must be after start"}]`, ""},
		{"rotation, opacity, keyframes, font, outline colour and background",
			`{"source":{"kind":"asset","assetId":"ast_1"},"stickers":[
				{"kind":"builtin","name":"star","x":0.5,"y":0.5,"width":0.2,"rotation":-12.3456,"opacity":0.25,"animation":"none",
				 "keyframes":[{"t":0,"x":0.5,"y":0.5,"width":0.2,"rotation":0,"opacity":1,"easing":"linear"},
				              {"t":1.23456,"x":1.5,"y":0.25,"width":0.4,"rotation":90,"opacity":0,"easing":"ease-in-out"}]},
				{"kind":"text","text":"Hi","font":"ast_font","size":0.1,"color":"#fff","outline":true,"strokeColor":"#f00",
				 "background":"#00000080","x":0.5,"y":0.5,"rotation":0,"opacity":1,
				 "keyframes":[{"t":0.5,"x":0.1,"y":0.5,"width":9,"rotation":0,"opacity":1,"easing":"step"}]}],"output":{}}`,
			`{"source":{"asset_id":"ast_1"},"stickers":[
				{"type":"image","builtin":"star","x":0.5,"y":0.5,"width":0.2,"rotation":-12.35,"opacity":0.25,
				 "keyframes":[{"t":0,"x":0.5,"y":0.5,"width":0.2,"rotation":0,"opacity":1},
				              {"t":1.235,"x":1,"y":0.25,"width":0.4,"rotation":90,"opacity":0,"easing":"ease-in-out"}]},
				{"type":"text","text":"Hi","font":"ast_font","size":0.1,"color":"#FFFFFF","stroke_color":"#FF0000",
				 "stroke_width":0.0063,"background":"#00000080","x":0.5,"y":0.5,
				 "keyframes":[{"t":0.5,"x":0.1,"y":0.5,"rotation":0,"opacity":1,"easing":"step"}]}]}`, ""},
		{"a template of a text, a built-in and an upload",
			`{"source":{"kind":"canvas","color":"#000000","width":640,"height":360,"duration":2},"stickers":[
				{"kind":"text","text":"Hello","size":0.08,"color":"#FFFFFF","x":0.5,"y":0.5,"variable":{"name":"headline"}},
				{"kind":"builtin","name":"heart","x":0.5,"y":0.5,"width":0.2,"variable":{"name":"pic","label":"Picture"}},
				{"kind":"asset","assetId":"ast_logo","x":0.5,"y":0.5,"width":0.2,"variable":{"name":"logo"}},
				{"kind":"builtin","name":"star","x":0.5,"y":0.5,"width":0.2,"variable":null}],"output":{}}`,
			`{"name":"Promo","spec":{"source":{"color":"#000000","width":640,"height":360,"duration":2,"fps":30},"stickers":[
				{"type":"text","text":"{{headline}}","font":"sans","size":0.08,"color":"#FFFFFF","x":0.5,"y":0.5},
				{"type":"image","builtin":"{{pic}}","x":0.5,"y":0.5,"width":0.2},
				{"type":"image","asset_id":"{{logo}}","x":0.5,"y":0.5,"width":0.2},
				{"type":"image","builtin":"star","x":0.5,"y":0.5,"width":0.2}]},
			  "variables":{"headline":{"label":"headline","type":"text","default":"Hello","max_length":500},
				"pic":{"label":"Picture","type":"text","default":"heart","enum":["heart","star"]},
				"logo":{"label":"logo","type":"asset","default":"ast_logo"}}}`,
			`buildTemplate(p, 'Promo', ['heart', 'star'])`},
		{"what a template misses",
			`{"source":{"kind":"canvas","color":"#000000","width":640,"height":360,"duration":2},"stickers":[
				{"kind":"text","text":"A","x":0.5,"y":0.5,"variable":{"name":"9lives"}},
				{"kind":"text","text":"B","x":0.5,"y":0.5,"variable":{"name":"b"}},
				{"kind":"text","text":"C","x":0.5,"y":0.5,"variable":{"name":"b"}}],"output":{}}`,
			`[{"field":"name","message":"give the template a name"},
			  {"field":"stickers[0].variable","message":"a variable name is a letter or _ followed by letters, digits or _"},
			  {"field":"stickers[2].variable","message":"b names two stickers"}]`,
			`checkTemplate(p, ' ')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := tt.call
			switch {
			case fn != "":
			case strings.HasPrefix(tt.want, "["):
				fn = "checkProject(p)"
			default:
				fn = "buildSpec(p)"
			}
			got := eval[string](t, env, `import('/ui/spec.js').then(m => { const p = `+tt.project+`; return JSON.stringify(m.`+fn+`); })`)
			var g, w any
			json.Unmarshal([]byte(got), &g)
			if err := json.Unmarshal([]byte(tt.want), &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("%s =\n%s\nwant\n%s", fn, got, tt.want)
			}
		})
	}
}
