package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/stickerd/stickerd/render/text"
)

// The studio tests drive the page with real input events (mouse presses,
// moves and key strokes through CDP) and check what it shows in
// screenshots and what it sends to the (fake) API.

// copiedSpec clicks "Copy spec JSON" and reads the clipboard.
func (env *pageEnv) copiedSpec(t *testing.T) map[string]any {
	t.Helper()
	env.do(t, "granting the clipboard", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			p := browser.SetPermissionParams{Permission: &browser.PermissionDescriptor{Name: name},
				Setting: browser.PermissionSettingGranted, Origin: env.url}
			if _, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, browser.SetPermission, p); err != nil {
				return err
			}
		}
		return nil
	}))
	eval[any](t, env, `navigator.clipboard.writeText('').catch(() => {})`)
	env.do(t, "copying the spec", chromedp.Click(chromedp.ID("copy-spec")))
	env.waitFor(t, "the copy", `document.getElementById('toolbar-status').textContent.startsWith('Copied')`)
	text := eval[string](t, env, `navigator.clipboard.readText()`)
	var spec map[string]any
	if err := json.Unmarshal([]byte(text), &spec); err != nil {
		t.Fatalf("the clipboard holds %q: %v", text, err)
	}
	return spec
}

// path reads a value of decoded JSON by keys and indexes ("stickers", 0, "x").
func at(t *testing.T, v any, keys ...any) any {
	t.Helper()
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v has no member %q", v, k)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("%v has no element %d", v, k)
			}
			v = a[k]
		}
	}
	return v
}

func num(t *testing.T, v any, keys ...any) float64 {
	t.Helper()
	f, ok := at(t, v, keys...).(float64)
	if !ok {
		t.Fatalf("%v at %v is not a number", at(t, v, keys...), keys)
	}
	return f
}

// screenshot is the page as shown, and the stage's rectangle in it.
func (env *pageEnv) screenshot(t *testing.T, name string) (image.Image, image.Rectangle) {
	t.Helper()
	eval[any](t, env, `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))`)
	shot, err := chromedp.Run(env.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(fmt.Sprintf("/tmp/webui-%s.png", name), shot, 0o644) // for a person looking into a failure
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	dpr := eval[float64](t, env, `window.devicePixelRatio`)
	s := env.box(t, "#stage")
	r := image.Rect(int(math.Round(s.X*dpr)), int(math.Round(s.Y*dpr)), int(math.Round((s.X+s.W)*dpr)), int(math.Round((s.Y+s.H)*dpr)))
	return img, r
}

// centroid is the mean place, in fractions of r, of the pixels of img in r
// that match, and how many there are.
func centroid(img image.Image, r image.Rectangle, match func(r, g, b uint32) bool) (fx, fy float64, n int) {
	var sx, sy float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if match(cr>>8, cg>>8, cb>>8) {
				sx, sy, n = sx+float64(x-r.Min.X)+0.5, sy+float64(y-r.Min.Y)+0.5, n+1
			}
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN(), 0
	}
	return sx / float64(n) / float64(r.Dx()), sy / float64(n) / float64(r.Dy()), n
}

func reddish(r, g, b uint32) bool { return r > 150 && g < 90 && b < 120 }

// seekTo clicks the playhead's track where the time t is.
func (env *pageEnv) seekTo(t *testing.T, secs, duration float64) {
	t.Helper()
	s := env.box(t, "#scrub")
	const thumb = 16 // --thumb in style.css
	x := s.X + thumb/2 + (s.W-thumb)*secs/duration
	env.do(t, fmt.Sprintf("seeking to %g s", secs), chromedp.MouseClickXY(x, s.Y+s.H/2))
	if got := eval[float64](t, env, `Number(document.getElementById('scrub').value)`); math.Abs(got-secs) > 0.03 {
		t.Fatalf("the playhead is at %g s after a click at %g s", got, secs)
	}
}

// typeInto replaces the text of the field sel names with key strokes.
func (env *pageEnv) typeInto(t *testing.T, sel, text string) {
	t.Helper()
	env.do(t, "typing into "+sel, chromedp.Click(chromedp.CSS(sel)),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(text))
}

func (env *pageEnv) useCanvas(t *testing.T) {
	t.Helper()
	env.do(t, "loading", chromedp.Navigate(env.url), chromedp.WaitVisible(chromedp.CSS(`.palette-item[data-name="heart"]`)),
		chromedp.Click(chromedp.CSS("#canvas-options summary")), chromedp.Click(chromedp.ID("use-canvas")))
	env.waitFor(t, "the engine's fonts", `document.documentElement.dataset.fonts === 'ready'`)
}

// TestStudio_KeyframesOnTheTimeline keys a sticker's position at two
// times, moves the playhead between them and finds the sticker drawn
// where the easing puts it; drags a keyframe along the timeline, picks
// its easing, and undoes and redoes those changes.
func TestStudio_KeyframesOnTheTimeline(t *testing.T) {
	env := startPage(t)
	env.useCanvas(t)
	env.addBuiltin(t, "heart")
	env.dragTo(t, ".sticker.selected", 0.2, 0.5)
	env.do(t, "adding a keyframe at 0 s", chromedp.Click(chromedp.ID("kf-add")))
	env.seekTo(t, 2, 4)
	env.dragTo(t, ".sticker.selected", 0.8, 0.5)
	if n := eval[int](t, env, `document.querySelectorAll('#kf-track .kf').length`); n != 2 {
		t.Fatalf("%d keyframes on the track after moving the sticker at 2 s, want 2", n)
	}

	// Half-way in time is half-way across (linear), in the picture.
	heartAt := func(name string, want float64) {
		t.Helper()
		env.do(t, "deselecting", chromedp.KeyEvent(kb.Escape))
		img, stage := env.screenshot(t, name)
		x, y, n := centroid(img, stage, reddish)
		t.Logf("%s: the heart is drawn at (%.3f, %.3f), %d px", name, x, y, n)
		if n < 100 || math.Abs(x-want) > 0.02 || math.Abs(y-0.5) > 0.03 {
			t.Fatalf("%s: the heart is drawn at (%.3f, %.3f) (%d px), want x = %.3f", name, x, y, n, want)
		}
	}
	env.seekTo(t, 1, 4)
	heartAt("keyframes-linear", 0.5)

	// The second keyframe: picked, eased in, dragged from 2 s to 3 s.
	env.do(t, "picking the second keyframe", chromedp.Click(chromedp.CSS(`#kf-track .kf[data-index="1"]`)),
		chromedp.Focus(chromedp.ID("kf-easing")), chromedp.KeyEvent(kb.ArrowDown))
	if got := eval[string](t, env, `document.getElementById('kf-easing').value`); got != "ease-in" {
		t.Fatalf("easing %q after the arrow key, want ease-in", got)
	}
	env.seekTo(t, 1, 4)
	heartAt("keyframes-ease-in", 0.2+0.6*0.25) // ease-in: u² at u = ½
	kf, track := env.box(t, `#kf-track .kf[data-index="1"]`), env.box(t, "#kf-track")
	from := [2]float64{kf.X + kf.W/2, kf.Y + kf.H/2}
	env.do(t, "dragging the keyframe to 3 s", pointerDrag(from, [2]float64{from[0] + (track.W-16)/4, from[1]}))
	spec := env.copiedSpec(t)
	kfs := at(t, spec, "stickers", 0, "keyframes").([]any)
	if len(kfs) != 2 || num(t, kfs, 0, "t") != 0 || !near(num(t, kfs, 0, "x"), 0.2) ||
		math.Abs(num(t, kfs, 1, "t")-3) > 0.03 || !near(num(t, kfs, 1, "x"), 0.8) || at(t, kfs, 1, "easing") != "ease-in" {
		t.Fatalf("keyframes %v, want x 0.2 at 0 s and 0.8 at 3 s, eased in", kfs)
	}

	// Undo takes back the drag, then the easing; redo brings the easing back.
	undo := chromedp.KeyEvent("z", chromedp.KeyModifiers(chromedp.ModifierCtrl))
	env.do(t, "undoing twice", chromedp.Click(chromedp.ID("stage-help")), undo, undo)
	spec = env.copiedSpec(t)
	if kf := at(t, spec, "stickers", 0, "keyframes", 1).(map[string]any); math.Abs(kf["t"].(float64)-2) > 0.03 || kf["easing"] != nil {
		t.Fatalf("after two undos the keyframe is %v, want linear at 2 s", kf)
	}
	env.do(t, "redoing", chromedp.Click(chromedp.ID("redo")))
	spec = env.copiedSpec(t)
	if kf := at(t, spec, "stickers", 0, "keyframes", 1).(map[string]any); math.Abs(kf["t"].(float64)-2) > 0.03 || kf["easing"] != "ease-in" {
		t.Fatalf("after a redo the keyframe is %v, want eased in at 2 s", kf)
	}
	// A render request carries the keyframes as the clipboard showed them.
	env.renderAndWait(t)
	var sent map[string]any
	json.Unmarshal(env.fake.Submits()[len(env.fake.Submits())-1].Body, &sent)
	if got, want := fmt.Sprint(at(t, sent, "stickers", 0, "keyframes")), fmt.Sprint(at(t, spec, "stickers", 0, "keyframes")); got != want {
		t.Fatalf("the render request's keyframes %s, the copied ones %s", got, want)
	}
}

// TestStudio_TextRotationOpacityFont sets a text sticker's rotation,
// opacity, font and background with the mouse and keyboard, and finds
// each in the picture and in the spec.
func TestStudio_TextRotationOpacityFont(t *testing.T) {
	env := startPage(t)
	env.useCanvas(t)
	env.do(t, "adding a text", chromedp.Click(chromedp.ID("add-text")))
	env.typeInto(t, "#insp-text", "WIDE TEXT")
	env.do(t, "no outline", chromedp.Click(chromedp.ID("insp-outline")))
	env.dragTo(t, ".sticker.selected", 0.5, 0.5)
	white := func(r, g, b uint32) bool { return r > 200 && g > 200 && b > 200 }
	bbox := func(name string, match func(r, g, b uint32) bool) image.Rectangle {
		t.Helper()
		env.do(t, "deselecting", chromedp.KeyEvent(kb.Escape))
		img, stage := env.screenshot(t, name)
		stage = stage.Inset(2) // not the dark frame around it
		box := image.Rectangle{Min: stage.Max, Max: stage.Min}
		for y := stage.Min.Y; y < stage.Max.Y; y++ {
			for x := stage.Min.X; x < stage.Max.X; x++ {
				if cr, cg, cb, _ := img.At(x, y).RGBA(); match(cr>>8, cg>>8, cb>>8) {
					box = box.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
		return box
	}
	flat := bbox("text-flat", white)
	if flat.Dx() < 3*flat.Dy() {
		t.Fatalf("the text's ink is %v: not a wide line", flat)
	}

	// 90°: the line stands up.
	env.do(t, "selecting the text", chromedp.Click(chromedp.CSS(".sticker.is-text")))
	env.typeInto(t, "#insp-rotation", "90")
	env.do(t, "leaving the field", chromedp.KeyEvent(kb.Tab))
	turned := bbox("text-turned", white)
	if turned.Dy() < 3*turned.Dx() || math.Abs(float64(turned.Dy()-flat.Dx())) > 0.05*float64(flat.Dx()) {
		t.Fatalf("turned 90°, the text's ink is %v; flat it was %v", turned, flat)
	}

	// Half opacity: the brightest text pixel is half-way to the canvas.
	env.do(t, "selecting the text", chromedp.Click(chromedp.CSS(".sticker.is-text")))
	o := env.box(t, "#insp-opacity")
	env.do(t, "clicking the middle of opacity", chromedp.MouseClickXY(o.X+o.W/2, o.Y+o.H/2))
	if got := eval[float64](t, env, `Number(document.getElementById('insp-opacity').value)`); math.Abs(got-0.5) > 0.05 {
		t.Fatalf("opacity %g after a click in the middle", got)
	}
	if faded := bbox("text-faded", white); !faded.Empty() {
		t.Fatalf("white pixels at %v at half opacity", faded)
	}
	if half := bbox("text-half", func(r, g, b uint32) bool { return r > 120 && r < 165 && b > 150 }); half.Dy() < 2*half.Dx() {
		t.Fatalf("no half-white standing text: %v", half)
	}

	// Mono, on a black box.
	env.do(t, "selecting the text", chromedp.Click(chromedp.CSS(".sticker.is-text")),
		chromedp.Focus(chromedp.ID("insp-font")), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown),
		chromedp.Click(chromedp.ID("insp-bg-on")))
	if got := eval[string](t, env, `getComputedStyle(document.querySelector('.sticker .text')).fontFamily.split(',')[0]`); got != "stk-mono" {
		t.Fatalf("the text is drawn in %s", got)
	}
	// Black at half opacity over the canvas (#1E3A5F) is about (15, 29, 47).
	black := bbox("text-box", func(r, g, b uint32) bool { return r < 25 && g < 40 && b < 60 })
	if black.Dy() < 2*black.Dx() || !turned.In(black.Inset(-2)) {
		t.Fatalf("the background box is %v, the text %v", black, turned)
	}
	spec := env.copiedSpec(t)
	st := at(t, spec, "stickers", 0).(map[string]any)
	if st["text"] != "WIDE TEXT" || st["rotation"] != 90.0 || math.Abs(st["opacity"].(float64)-0.5) > 0.05 || st["font"] != "mono" ||
		st["background"] != "#000000" || st["stroke_width"] != nil {
		t.Fatalf("the text sticker is %v", st)
	}
}

// TestStudio_TemplateFormAndBatch saves a project with a text and a
// picture marked as variables as a template, renders it from its form
// with a new text, and runs a batch from a CSV file to its end.
func TestStudio_TemplateFormAndBatch(t *testing.T) {
	env := startPage(t)
	env.useCanvas(t)
	env.do(t, "adding a text", chromedp.Click(chromedp.ID("add-text")))
	env.typeInto(t, "#insp-text", "Hello")
	env.do(t, "marking it a variable", chromedp.Click(chromedp.ID("insp-var-on")))
	env.typeInto(t, "#insp-var-name", "headline")
	env.addBuiltin(t, "heart")
	env.do(t, "marking the heart a variable", chromedp.Click(chromedp.ID("insp-var-on")))
	env.do(t, "saving", chromedp.Click(chromedp.ID("save-template")), chromedp.KeyEvent("Promo\n"))
	env.waitFor(t, "the template", `document.getElementById('toolbar-status').textContent.startsWith('Saved')`)
	saved := eval[map[string]any](t, env, `fetch('/v1/templates').then(r => r.json())`)
	tpl := at(t, saved, "items", 0).(map[string]any)
	if tpl["name"] != "Promo" || at(t, tpl, "spec", "stickers", 0, "text") != "{{headline}}" ||
		at(t, tpl, "spec", "stickers", 1, "builtin") != "{{picture2}}" || at(t, tpl, "variables", "headline", "default") != "Hello" ||
		at(t, tpl, "variables", "picture2", "default") != "heart" {
		t.Fatalf("saved %v", tpl)
	}

	// The template page: a form of its variables.
	env.do(t, "opening it", chromedp.Click(chromedp.CSS("#toolbar-status a")))
	env.waitFor(t, "the form", `!!document.querySelector('#tpl-fields [data-variable="picture2"]')`)
	if got := eval[string](t, env, `[...document.querySelectorAll('#tpl-fields [data-variable]')].map(e => e.dataset.variable + '=' + e.value).join(' ')`); got != "headline=Hello picture2=heart" {
		t.Fatalf("the form shows %q", got)
	}
	env.typeInto(t, `#tpl-fields [data-variable="headline"]`, "Sale!")
	env.do(t, "rendering", chromedp.Click(chromedp.ID("tpl-render")))
	env.waitFor(t, "the template's result", `!document.getElementById('tpl-result').hidden`)
	var sent map[string]any
	json.Unmarshal(env.fake.Submits()[len(env.fake.Submits())-1].Body, &sent)
	if sent["template_id"] != tpl["id"] || at(t, sent, "variables", "headline") != "Sale!" {
		t.Fatalf("the page submitted %v", sent)
	}

	// A batch: two good rows and one the template refuses.
	csv := writeFile(t, "rows.csv", []byte("headline,picture2\nOne,star\nTwo,\n,nope\n"))
	env.do(t, "choosing the CSV", chromedp.SetUploadFiles(chromedp.ID("batch-file"), []string{csv}),
		chromedp.Click(chromedp.ID("batch-start")))
	env.waitFor(t, "the batch's end", `document.getElementById('batch-status').textContent.includes('(completed)')`)
	env.waitFor(t, "the rows", `document.querySelectorAll('#batch-rows tbody tr').length === 3`)
	status := eval[string](t, env, `document.getElementById('batch-status').textContent`)
	if !strings.Contains(status, "2 of 2 renders done") || !strings.Contains(status, "1 rows refused") {
		t.Fatalf("the batch status says %q", status)
	}
	if p := eval[[]float64](t, env, `[document.getElementById('batch-progress').value, document.getElementById('batch-progress').max]`); p[0] != 2 || p[1] != 2 {
		t.Fatalf("batch progress %v, want 2 of 2", p)
	}
	if got := eval[string](t, env, `document.getElementById('tpl-errors').textContent`); !strings.Contains(got, "row 3: variables.picture2") {
		t.Fatalf("the refused row is shown as %q", got)
	}
	rows := eval[string](t, env, `[...document.querySelectorAll('#batch-rows tbody tr')].map(r => r.cells[0].textContent + ':' + r.cells[1].textContent + ':' + !!r.querySelector('a.download')).join(' ')`)
	if rows != "1:succeeded:true 2:succeeded:true 3:rejected:false" {
		t.Fatalf("batch rows %q", rows)
	}
	if code := eval[int](t, env, `fetch(document.querySelector('#batch-rows a.download').href).then(r => r.status)`); code != 200 {
		t.Fatalf("a row's download answers %d", code)
	}
	env.screenshot(t, "templates")
}

// TestStudio_HistoryRedownloads renders twice and finds both jobs, newest
// first, on the history page, each downloadable again.
func TestStudio_HistoryRedownloads(t *testing.T) {
	env := startPage(t)
	env.useCanvas(t)
	env.addBuiltin(t, "star")
	env.renderAndWait(t)
	env.do(t, "choosing GIF", chromedp.SetValue(chromedp.ID("format"), "gif"))
	env.renderAndWait(t)
	env.do(t, "opening the history", chromedp.Click(chromedp.CSS(`nav a[data-view="history"]`)))
	env.waitFor(t, "the list", `document.querySelectorAll('#history-table tbody tr').length === 2`)
	got := eval[string](t, env, `[...document.querySelectorAll('#history-table tbody tr')].map(r =>
		r.cells[2].textContent + ' ' + r.cells[3].textContent.split(' ')[0]).join(', ')`)
	if got != "succeeded gif, succeeded mp4" {
		t.Fatalf("the history shows %q", got)
	}
	ids := eval[[]string](t, env, `[...document.querySelectorAll('#history-table tbody tr')].map(r => r.dataset.id)`)
	subs := env.fake.Submits()
	if len(ids) != 2 || len(subs) != 2 {
		t.Fatalf("rows %v, %d submits", ids, len(subs))
	}
	env.screenshot(t, "history")
	for _, id := range ids {
		code := eval[int](t, env, fmt.Sprintf(`fetch(document.querySelector('#history-table tr[data-id=%q] a.download').href).then(r => r.status)`, id))
		if code != 200 {
			t.Fatalf("downloading %s again answers %d", id, code)
		}
	}
}

// TestStudio_LayoutAndRefusedUploads checks what a newcomer met: captions
// cut in the palette, a file that is not a video looking accepted until
// Render, and a result below the fold.
func TestStudio_LayoutAndRefusedUploads(t *testing.T) {
	env := startPage(t)
	env.do(t, "loading", chromedp.Navigate(env.url), chromedp.WaitVisible(chromedp.CSS(`.palette-item[data-name="beating-heart"]`)))
	cut := eval[[]string](t, env, `[...document.querySelectorAll('.palette-item .caption')].filter(c => {
		const r = c.getBoundingClientRect(), b = c.closest('.palette-item').getBoundingClientRect();
		return c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1 || r.bottom > b.bottom + 0.5 || r.right > b.right + 0.5;
	}).map(c => c.textContent)`)
	if len(cut) > 0 {
		t.Fatalf("palette captions cut: %q", cut)
	}

	notes, picture := writeFile(t, "notes.txt", []byte("a shopping list, not a video\n")), writeFile(t, "photo.png", pngImage(t))
	for _, c := range []struct{ file, want string }{
		{notes, "ASSET_UNSUPPORTED"},
		{picture, "photo.png is a picture, not a video"},
	} {
		env.do(t, "choosing "+c.file, chromedp.SetUploadFiles(chromedp.ID("video-file"), []string{c.file}))
		env.waitFor(t, "the refusal", fmt.Sprintf(`!document.getElementById('upload-errors').hidden &&
			document.getElementById('upload-errors').textContent.includes(%q)`, c.want))
		got := eval[string](t, env, `document.getElementById('upload-errors').textContent`)
		visible := eval[bool](t, env, `(() => { const r = document.getElementById('upload-errors').getBoundingClientRect();
			return r.top >= 0 && r.bottom <= innerHeight; })()`)
		if !strings.Contains(got, c.want) || !visible || !eval[bool](t, env, `document.getElementById('stage').classList.contains('empty')`) {
			t.Fatalf("after %s: errors %q (visible %v), stage %s", c.file, got, visible,
				eval[string](t, env, `document.getElementById('stage').className`))
		}
	}

	// The result scrolls into view by itself, and shows.
	env.do(t, "a canvas", chromedp.Click(chromedp.CSS("#canvas-options summary")), chromedp.Click(chromedp.ID("use-canvas")))
	env.addBuiltin(t, "heart")
	env.do(t, "choosing GIF", chromedp.SetValue(chromedp.ID("format"), "gif"))
	eval[any](t, env, `window.scrollTo(0, 0)`)
	// Render is in view as it is: clicking it scrolls nothing.
	if b, h := env.box(t, "#render"), eval[float64](t, env, `innerHeight`); b.Y < 0 || b.Y+b.H > h {
		t.Fatalf("the Render button is at %+v in a %g px window", b, h)
	}
	env.renderAndWait(t)
	env.waitFor(t, "the GIF", `document.querySelector('#result-media img')?.naturalWidth > 0`)
	r := env.box(t, "#result")
	if h := eval[float64](t, env, `innerHeight`); r.Y < 0 || r.Y+r.H > h {
		t.Fatalf("the result is at %+v, outside the window's %g px", r, h)
	}
	img, _ := env.screenshot(t, "result")
	dpr := eval[float64](t, env, `devicePixelRatio`)
	m := env.box(t, "#result-media img")
	area := image.Rect(int(m.X*dpr), int(m.Y*dpr), int((m.X+m.W)*dpr), int((m.Y+m.H)*dpr))
	if _, _, n := centroid(img, area, func(r, g, b uint32) bool { return r+g+b > 150 }); n < 50 {
		t.Fatalf("the result's place in the screenshot shows %d coloured pixels", n)
	}
}

// TestStudio_UploadedFont uploads a font for a text sticker: the spec
// names the uploaded asset, and the preview draws with the file's own
// glyphs (DejaVu Serif's bytes under another name measure as the built-in
// serif does, and unlike sans).
func TestStudio_UploadedFont(t *testing.T) {
	env := startPage(t)
	env.useCanvas(t)
	env.do(t, "adding a text", chromedp.Click(chromedp.ID("add-text")))
	env.typeInto(t, "#insp-text", "Typeface")
	width := func() float64 {
		t.Helper()
		eval[any](t, env, `document.fonts.ready`)
		return env.box(t, ".sticker.selected .fill").W
	}
	sans := width()
	env.do(t, "picking serif", chromedp.Focus(chromedp.ID("insp-font")), chromedp.KeyEvent(kb.ArrowDown))
	serif := width()
	serifTTF, _ := text.FontFile(text.FontSerif)
	env.do(t, "uploading a font", chromedp.SetUploadFiles(chromedp.ID("font-file"), []string{writeFile(t, "brand.ttf", serifTTF)}))
	env.waitFor(t, "the font", `document.getElementById('upload-status').textContent.startsWith('Uploaded font')`)
	uploaded := width()
	family := eval[string](t, env, `getComputedStyle(document.querySelector('.sticker.selected .text')).fontFamily.split(',')[0]`)
	font := at(t, env.copiedSpec(t), "stickers", 0, "font").(string)
	if a, ok := env.fake.Asset(font); !ok || a.Filename != "brand.ttf" || family != "stk-"+font {
		t.Fatalf("the spec's font is %q, the preview's %s", font, family)
	}
	if option := eval[string](t, env, `document.getElementById('insp-font').selectedOptions[0].textContent`); option != "brand" {
		t.Fatalf("the font menu shows %q", option)
	}
	t.Logf("widths: sans %.1f, serif %.1f, uploaded serif %.1f px", sans, serif, uploaded)
	if math.Abs(uploaded-serif) > 0.5 || math.Abs(serif-sans) < 5 {
		t.Fatalf("widths: sans %.1f, serif %.1f, uploaded serif %.1f px", sans, serif, uploaded)
	}
}
