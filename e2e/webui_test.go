package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// Where the web UI tests leave their pictures: of the page, and of the
// text test's page and rendered frame.
const (
	screenshotPath  = "/tmp/e2e-webui.png"
	textPreviewPath = "/tmp/e2e-webui-text.png"
	textRenderPath  = "/tmp/e2e-webui-text-render.png"
)

// browser is a headless Chromium with a fresh profile.
type browser struct {
	ctx context.Context

	mu         sync.Mutex
	exceptions []string
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	exec := "/usr/bin/chromium"
	if _, err := os.Stat(exec); err != nil {
		exec = needTool(t, "chromium")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exec),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1300))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	b := &browser{}
	var cancelBrowser context.CancelFunc
	b.ctx, cancelBrowser = chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(b.ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	console := chromedp.Console(b.ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() {
				b.mu.Lock()
				b.exceptions = append(b.exceptions, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.exceptions {
			t.Errorf("page exception: %s", e)
		}
	})
	return b
}

func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func evalJS[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript condition until it holds.
func (b *browser) waitJS(t *testing.T, d time.Duration, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(d))); err != nil {
		says := evalJS[string](t, b, `document.getElementById('render-status').textContent + ' | ' +
			document.getElementById('upload-status').textContent + ' | ' + document.getElementById('errors').textContent`)
		t.Fatalf("waiting for %s: %v (the page says: %s)", what, err, says)
	}
}

// rect is an element's place in the viewport.
type rect struct{ X, Y, W, H float64 }

func (b *browser) rect(t *testing.T, selector string) rect {
	t.Helper()
	return evalJS[rect](t, b, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
		return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`, selector))
}

// dragTo drags the element's centre to the stage point (fx, fy), in
// fractions, with the left button held through the moves.
func (b *browser) dragTo(t *testing.T, selector string, fx, fy float64) {
	t.Helper()
	stage, el := b.rect(t, "#stage"), b.rect(t, selector)
	from := [2]float64{el.X + el.W/2, el.Y + el.H/2}
	to := [2]float64{stage.X + fx*stage.W, stage.Y + fy*stage.H}
	b.do(t, "dragging "+selector, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		send := func(typ input.DispatchMouseEventType, x, y float64, buttons int64) error {
			p := input.DispatchMouseEventParams{Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: buttons, ClickCount: 1}
			_, err := cdp.Call(ctx, tgt, input.DispatchMouseEvent, p)
			return err
		}
		if err := send(chromedp.MousePressed, from[0], from[1], 1); err != nil {
			return err
		}
		for i := 1; i <= 12; i++ {
			f := float64(i) / 12
			if err := send(chromedp.MouseMoved, from[0]+(to[0]-from[0])*f, from[1]+(to[1]-from[1])*f, 1); err != nil {
				return err
			}
		}
		return send(chromedp.MouseReleased, to[0], to[1], 0)
	}))
}

// TestE2E_WebUI drives the page at / of the real server in Chromium:
// upload a video, drag a built-in sticker, render, and find the sticker
// in the rendered pixels where it was dropped.
func TestE2E_WebUI(t *testing.T) {
	e := mainEnv(t)
	b := startBrowser(t)
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	makeVideo(t, clip, 640, 360, 3)
	const fx, fy = 0.25, 0.3

	b.do(t, "loading the page", chromedp.Navigate(e.open.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`.palette-item[data-name="heart"]`)),
		chromedp.SetUploadFiles(chromedp.ID("video-file"), []string{clip}))
	b.waitJS(t, 30*time.Second, "the upload", `document.getElementById('upload-status').textContent.startsWith('Uploaded')`)
	b.do(t, "adding the heart", chromedp.Click(chromedp.CSS(`.palette-item[data-name="heart"]`)))
	b.waitJS(t, 10*time.Second, "the heart on the stage", `(() => { const i = document.querySelector('.sticker.selected img');
		return !!i && i.complete && i.naturalWidth > 0; })()`)
	b.dragTo(t, ".sticker.selected", fx, fy)
	e.waitIdle(t) // the worker is ours
	b.do(t, "clicking Render", chromedp.Click(chromedp.ID("render")))
	b.waitJS(t, 90*time.Second, "the result video", `!document.getElementById('result').hidden && !!document.querySelector('#result-media video')`)
	// Let the result show its first frame for the screenshot (best effort).
	chromedp.Run(b.ctx, chromedp.Poll[bool](`document.querySelector('#result-media video').readyState >= 2`,
		chromedp.WithPollingTimeout(5*time.Second)))
	evalJS[any](t, b, `window.scrollTo(0, 0)`)
	if png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot()); err != nil {
		t.Errorf("screenshot: %v", err)
	} else if err := os.WriteFile(screenshotPath, png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
	}

	out := downloadPageResult(t, e, b, ".mp4")
	// Where the output turned red and the source was not is the heart.
	const w, h = 320, 180
	rendered, source := decodeFrame(t, out, 1, w, h), decodeFrame(t, clip, 1, w, h)
	reddish := func(p [3]int) bool { return p[0] > 150 && p[1] < 90 && p[2] < 120 }
	var sx, sy, n float64
	for y := range h {
		for x := range w {
			fxp, fyp := (float64(x)+0.5)/w, (float64(y)+0.5)/h
			if reddish(rendered.at(fxp, fyp)) && !reddish(source.at(fxp, fyp)) {
				sx, sy, n = sx+fxp, sy+fyp, n+1
			}
		}
	}
	if n < 200 {
		t.Fatalf("only %g pixels of the output show the heart", n)
	}
	cx, cy := sx/n, sy/n
	t.Logf("the heart covers %g px of %dx%d, centred at (%.3f, %.3f); dragged to (%g, %g)", n, w, h, cx, cy, fx, fy)
	if math.Abs(cx-fx) > 0.04 || math.Abs(cy-fy) > 0.06 {
		t.Fatalf("the heart is centred at (%.3f, %.3f), not near (%g, %g) where it was dragged", cx, cy, fx, fy)
	}
}

// inkBox is the bounding box, in fractions of a picture, of the pixels
// brighter than a threshold: white text on a dark canvas.
type inkBox struct{ X0, Y0, X1, Y1 float64 }

func (b inkBox) W() float64 { return b.X1 - b.X0 }
func (b inkBox) H() float64 { return b.Y1 - b.Y0 }

// ink finds the text pixels of img inside r whose centre lies between the
// fractions y0 and y1 of r's height, and returns their box in fractions of
// r. A pixel is text when its luma is over 154, half-way from the canvas
// (#1E3A5F, 54) to white: a pixel at least half covered by the white
// fill, in either picture whatever its antialiasing or compression; a
// black outline is darker than the canvas.
func ink(t *testing.T, img image.Image, r image.Rectangle, y0, y1 float64) inkBox {
	t.Helper()
	minX, minY, maxX, maxY := r.Max.X, r.Max.Y, r.Min.X-1, r.Min.Y-1
	for y := r.Min.Y; y < r.Max.Y; y++ {
		if f := (float64(y-r.Min.Y) + 0.5) / float64(r.Dy()); f < y0 || f >= y1 {
			continue
		}
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if 0.299*float64(cr>>8)+0.587*float64(cg>>8)+0.114*float64(cb>>8) > 154 {
				minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			}
		}
	}
	if maxX < minX {
		t.Fatalf("no text between %g and %g of the picture's height", y0, y1)
	}
	w, h := float64(r.Dx()), float64(r.Dy())
	return inkBox{float64(minX-r.Min.X) / w, float64(minY-r.Min.Y) / h, float64(maxX+1-r.Min.X) / w, float64(maxY+1-r.Min.Y) / h}
}

// typeInto replaces the text of the inspector's text field with key
// events: a click into it, Ctrl+A, then the text (Enter for a new line).
func (b *browser) typeInto(t *testing.T, id, text string) {
	t.Helper()
	b.do(t, "typing into #"+id, chromedp.Click(chromedp.ID(id)),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(text))
}

// TestE2E_WebUI_TextPreviewMatchesRender is the studio's WYSIWYG check
// (issue 16): two text stickers made with real input events — one line of
// Go Regular (the render draws it with ffmpeg's drawtext) and two lines
// of DejaVu Serif with an outline (rasterised in Go) — are measured in a
// screenshot of the stage and in a frame of the rendered video. Their
// boxes, as fractions of the frame, agree within 5 %.
func TestE2E_WebUI_TextPreviewMatchesRender(t *testing.T) {
	e := mainEnv(t)
	b := startBrowser(t)
	b.do(t, "loading the page", chromedp.Navigate(e.open.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`.palette-item[data-name="heart"]`)),
		chromedp.Click(chromedp.CSS("#canvas-options summary")), chromedp.Click(chromedp.ID("use-canvas")),
		chromedp.SetValue(chromedp.ID("quality"), "high"))
	b.waitJS(t, 10*time.Second, "the engine's fonts", `document.documentElement.dataset.fonts === 'ready'`)

	// One line of sans, a little larger, dragged to the upper half.
	b.do(t, "adding a text", chromedp.Click(chromedp.ID("add-text")))
	b.typeInto(t, "insp-text", "WYSIWYG test")
	b.do(t, "turning the outline off", chromedp.Click(chromedp.ID("insp-outline")))
	b.dragTo(t, ".sticker.selected", 0.5, 0.3)
	b.do(t, "growing it", chromedp.KeyEvent("+"), chromedp.KeyEvent("+"))
	// Two lines of serif with an outline, in the lower half.
	b.do(t, "adding another", chromedp.Click(chromedp.ID("add-text")))
	b.typeInto(t, "insp-text", "Serif\nlines")
	b.do(t, "picking the serif font", chromedp.Focus(chromedp.ID("insp-font")), chromedp.KeyEvent(kb.ArrowDown))
	b.dragTo(t, ".sticker.selected", 0.45, 0.72)
	got := evalJS[string](t, b, `JSON.stringify([...document.querySelectorAll('.sticker.is-text')].map(s =>
		s.querySelector('.fill').textContent + ' in ' + getComputedStyle(s.querySelector('.text')).fontFamily.split(',')[0]))`)
	if got != `["WYSIWYG test in stk-sans","Serif\nlines in stk-serif"]` {
		t.Fatalf("the stage shows %s", got)
	}
	// Nothing selected or hovered: click the stage's empty corner.
	stage := b.rect(t, "#stage")
	b.do(t, "deselecting", chromedp.MouseClickXY(stage.X+8, stage.Y+8))
	shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(textPreviewPath, shot, 0o644)
	page, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	dpr := evalJS[float64](t, b, `window.devicePixelRatio`)
	stageRect := image.Rect(int(math.Round(stage.X*dpr)), int(math.Round(stage.Y*dpr)),
		int(math.Round((stage.X+stage.W)*dpr)), int(math.Round((stage.Y+stage.H)*dpr)))

	e.waitIdle(t)
	b.do(t, "clicking Render", chromedp.Click(chromedp.ID("render")))
	b.waitJS(t, 90*time.Second, "the result video", `!document.getElementById('result').hidden && !!document.querySelector('#result-media video')`)
	out := downloadPageResult(t, e, b, ".mp4")
	const w, h = 1280, 720 // the canvas's default size
	f := decodeFrame(t, out, 1, w, h)
	frameImg := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		copy(frameImg.Pix[4*i:], f.rgb[3*i:3*i+3])
		frameImg.Pix[4*i+3] = 255
	}
	var framePNG bytes.Buffer
	if err := png.Encode(&framePNG, frameImg); err == nil {
		os.WriteFile(textRenderPath, framePNG.Bytes(), 0o644)
	}
	for _, part := range []struct {
		name   string
		y0, y1 float64
	}{{"sans, drawtext", 0, 0.5}, {"serif with an outline, rasterised", 0.5, 1}} {
		pre, ren := ink(t, page, stageRect, part.y0, part.y1), ink(t, frameImg, frameImg.Rect, part.y0, part.y1)
		t.Logf("%s: preview %.4f×%.4f at (%.4f, %.4f), render %.4f×%.4f at (%.4f, %.4f) of the frame",
			part.name, pre.W(), pre.H(), pre.X0, pre.Y0, ren.W(), ren.H(), ren.X0, ren.Y0)
		if d := math.Abs(pre.W()-ren.W()) / ren.W(); d > 0.05 {
			t.Errorf("%s: the preview's text is %.4f of the frame wide, the render's %.4f: %.1f %% apart", part.name, pre.W(), ren.W(), 100*d)
		}
		if d := math.Abs(pre.H()-ren.H()) / ren.H(); d > 0.05 {
			t.Errorf("%s: the preview's text is %.4f of the frame high, the render's %.4f: %.1f %% apart", part.name, pre.H(), ren.H(), 100*d)
		}
		if dx, dy := math.Abs(pre.X0-ren.X0), math.Abs(pre.Y0-ren.Y0); dx > 0.01 || dy > 0.01 {
			t.Errorf("%s: the preview's text starts at (%.4f, %.4f), the render's at (%.4f, %.4f)", part.name, pre.X0, pre.Y0, ren.X0, ren.Y0)
		}
	}
}

// downloadPageResult downloads the output of the job the page shows.
func downloadPageResult(t *testing.T, e *env, b *browser, ext string) string {
	t.Helper()
	name := evalJS[string](t, b, `document.getElementById('download').getAttribute('download')`)
	id := stickerd.JobID(strings.TrimSuffix(name, ext))
	c := client(e.open, "")
	ctx := testCtx(t, 30*time.Second)
	job, err := c.GetRender(ctx, id)
	if err != nil || job.Status != stickerd.StatusSucceeded || job.Output == nil {
		t.Fatalf("the page's job %q: %+v %v", name, job, err)
	}
	out := filepath.Join(t.TempDir(), "out"+ext)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := c.DownloadOutput(ctx, id, f); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestE2E_WebUI_TemplateBatchAndHistory drives the studio against the real
// gateway and worker: a project whose text is a variable is saved as a
// template, rendered from the template page's form with another text,
// then as a batch from a CSV file followed to its end; the history page
// lists those renders and downloads one again.
func TestE2E_WebUI_TemplateBatchAndHistory(t *testing.T) {
	e := mainEnv(t)
	b := startBrowser(t)
	b.do(t, "loading the page", chromedp.Navigate(e.open.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`.palette-item[data-name="heart"]`)),
		chromedp.Click(chromedp.CSS("#canvas-options summary")),
		chromedp.SetValue(chromedp.ID("canvas-width"), "320"), chromedp.SetValue(chromedp.ID("canvas-height"), "180"),
		chromedp.SetValue(chromedp.ID("canvas-duration"), "1"), chromedp.Click(chromedp.ID("use-canvas")),
		chromedp.Click(chromedp.ID("add-text")))
	b.typeInto(t, "insp-text", "Hello")
	b.do(t, "marking the text a variable", chromedp.Click(chromedp.ID("insp-var-on")))
	b.typeInto(t, "insp-var-name", "headline")
	b.do(t, "saving the template", chromedp.Click(chromedp.ID("save-template")), chromedp.KeyEvent("E2E promo\n"))
	b.waitJS(t, 10*time.Second, "the template", `document.getElementById('toolbar-status').textContent.startsWith('Saved')`)
	tplID := evalJS[string](t, b, `document.querySelector('#toolbar-status a').getAttribute('href').split('/')[1]`)

	// One render from the form.
	b.do(t, "opening the template", chromedp.Click(chromedp.CSS("#toolbar-status a")))
	b.waitJS(t, 10*time.Second, "the form", `!!document.querySelector('#tpl-fields [data-variable="headline"]')`)
	b.do(t, "typing a headline", chromedp.Click(chromedp.CSS(`#tpl-fields [data-variable="headline"]`)),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent("Sale!"))
	e.waitIdle(t)
	b.do(t, "rendering", chromedp.Click(chromedp.ID("tpl-render")))
	b.waitJS(t, 90*time.Second, "the template's result", `!document.getElementById('tpl-result').hidden`)
	c := client(e.open, "")
	ctx := testCtx(t, 60*time.Second)
	name := evalJS[string](t, b, `document.getElementById('tpl-download').getAttribute('download')`)
	job, err := c.GetRender(ctx, stickerd.JobID(strings.TrimSuffix(name, ".mp4")))
	if err != nil || job.Status != stickerd.StatusSucceeded {
		t.Fatalf("the form's job %s: %+v %v", name, job, err)
	}

	// A batch of two good rows and a refused one.
	csv := filepath.Join(t.TempDir(), "rows.csv")
	long := strings.Repeat("x", 501) // over the text variable's 500 characters
	if err := os.WriteFile(csv, []byte("headline\nOne\nTwo\n"+long+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(t, "starting a batch", chromedp.SetUploadFiles(chromedp.ID("batch-file"), []string{csv}),
		chromedp.Click(chromedp.ID("batch-start")))
	b.waitJS(t, 120*time.Second, "the batch's end", `document.getElementById('batch-status').textContent.includes('(completed)')
		&& document.querySelectorAll('#batch-rows tbody tr').length === 3`)
	status := evalJS[string](t, b, `document.getElementById('batch-status').textContent`)
	rows := evalJS[string](t, b, `[...document.querySelectorAll('#batch-rows tbody tr')].map(r => r.cells[1].textContent).join(' ')`)
	if !strings.Contains(status, "2 of 2 renders done") || rows != "succeeded succeeded rejected" {
		t.Fatalf("the batch: %q; rows %q", status, rows)
	}
	refused := evalJS[string](t, b, `document.getElementById('tpl-errors').textContent`)
	if !strings.Contains(refused, "row 3: variables.headline") {
		t.Fatalf("the refused row is shown as %q", refused)
	}

	// The history: the batch's rows, then the form's render; each downloads again.
	b.do(t, "opening the history", chromedp.Click(chromedp.CSS(`nav a[data-view="history"]`)))
	b.waitJS(t, 10*time.Second, "the history", `document.querySelectorAll('#history-table tbody tr').length >= 3`)
	from := evalJS[[]string](t, b, `[...document.querySelectorAll('#history-table tbody tr')].slice(0, 3).map(r => r.cells[4].textContent)`)
	if !strings.HasPrefix(from[0], "batch bat_") || from[0] != from[1] || from[2] != tplID+" v1" {
		t.Fatalf("the newest renders come from %q, want the batch twice, then %s v1", from, tplID)
	}
	got := evalJS[string](t, b, `fetch(document.querySelector('#history-table tbody tr a.download').href)
		.then(r => r.status + ' ' + r.headers.get('Content-Type'))`)
	if got != "200 video/mp4" {
		t.Fatalf("downloading again answers %s", got)
	}
}
