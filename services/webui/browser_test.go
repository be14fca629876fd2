package webui

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/stickerd/stickerd/render/builtin"
	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

// chromium returns the browser to drive; without one the test is skipped,
// except on CI (CI set), which must have it.
func chromium(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("no /usr/bin/chromium: install it (apt-get install chromium) to run the browser test")
	}
	t.Fatal("no /usr/bin/chromium on CI")
	return ""
}

// pageEnv is the page served beside a fake API, in a headless browser.
type pageEnv struct {
	url    string
	fake   *stickerdtest.Server
	refuse atomic.Bool // answer the next submits 400 with field paths
	ctx    context.Context

	mu     sync.Mutex
	errors []string // uncaught exceptions of the page
}

func startPage(t *testing.T) *pageEnv {
	exec := chromium(t)
	env := &pageEnv{fake: stickerdtest.New(stickerdtest.Config{Steps: []float64{0.3, 0.6}})}
	mux := http.NewServeMux()
	mux.Handle("/", Handler())
	mux.Handle("/v1/", env.fake)
	mux.HandleFunc("POST /v1/renders", func(w http.ResponseWriter, r *http.Request) {
		if env.refuse.Load() {
			stickerdtest.Problem(w, http.StatusBadRequest, "SPEC_INVALID", "the request is invalid",
				stickerdtest.FieldError{Field: "stickers[0].width", Message: "must be at most 4"})
			return
		}
		env.fake.ServeHTTP(w, r)
	})
	// A real animation as every output, so that the result shows in the screenshot.
	mux.HandleFunc("GET /v1/renders/{id}/output", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/gif")
		builtin.Encode("confetti", w)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	env.url = srv.URL

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exec),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	console := chromedp.Console(browserCtx)
	if err := chromedp.Do(browserCtx, chromedp.Navigate(env.url)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() {
				env.mu.Lock()
				env.errors = append(env.errors, m.String())
				env.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		env.mu.Lock()
		defer env.mu.Unlock()
		for _, e := range env.errors {
			t.Errorf("page exception: %s", e)
		}
	})
	env.ctx = browserCtx
	return env
}

// do runs actions, failing the test with what was being done.
func (env *pageEnv) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(env.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](t *testing.T, env *pageEnv, expr string) T {
	t.Helper()
	v, err := chromedp.Run(env.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (env *pageEnv) waitFor(t *testing.T, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(env.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		status := eval[string](t, env, `document.getElementById('render-status').textContent + ' | ' + document.getElementById('errors').textContent`)
		t.Fatalf("waiting for %s: %v (page says: %s)", what, err, status)
	}
}

// pointerDrag presses the left button at from, moves to to in steps (the
// button held, so the page sees pointermove with buttons=1) and releases.
func pointerDrag(from, to [2]float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		send := func(typ input.DispatchMouseEventType, x, y float64, buttons int64) error {
			p := input.DispatchMouseEventParams{Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: buttons, ClickCount: 1}
			_, err := cdp.Call(ctx, t, input.DispatchMouseEvent, p)
			return err
		}
		if err := send(chromedp.MousePressed, from[0], from[1], 1); err != nil {
			return err
		}
		const steps = 12
		for i := 1; i <= steps; i++ {
			f := float64(i) / steps
			if err := send(chromedp.MouseMoved, from[0]+(to[0]-from[0])*f, from[1]+(to[1]-from[1])*f, 1); err != nil {
				return err
			}
		}
		return send(chromedp.MouseReleased, to[0], to[1], 0)
	})
}

// box is an element's place in the viewport.
type box struct{ X, Y, W, H float64 }

func (env *pageEnv) box(t *testing.T, selector string) box {
	t.Helper()
	return eval[box](t, env, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
		return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`, selector))
}

func near(got, want float64) bool { return math.Abs(got-want) < 0.01 }

// writeFile writes a file the page can be given.
func writeFile(t *testing.T, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func pngImage(t *testing.T) []byte {
	var buf bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for i := range img.Pix {
		img.Pix[i] = 0xc0
	}
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
