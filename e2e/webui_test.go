package e2e

import (
	"context"
	"fmt"
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

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// screenshotPath is where the web UI test leaves its picture of the page.
const screenshotPath = "/tmp/e2e-webui.png"

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

	name := evalJS[string](t, b, `document.getElementById('download').getAttribute('download')`)
	id := stickerd.JobID(strings.TrimSuffix(name, ".mp4"))
	c := client(e.open, "")
	ctx := testCtx(t, 30*time.Second)
	job, err := c.GetRender(ctx, id)
	if err != nil || job.Status != stickerd.StatusSucceeded || job.Output == nil {
		t.Fatalf("the page's job %q: %+v %v", name, job, err)
	}
	out := filepath.Join(t.TempDir(), "out.mp4")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DownloadOutput(ctx, id, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
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
