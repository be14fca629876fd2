package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/render/builtin"
)

// pollTimeout bounds each wait on the live video: connecting, the first
// frames, a sticker showing up and moving.
const pollTimeout = 30 * time.Second

// need returns the path of a program the browser test cannot run without;
// without it the test is skipped, except on CI (CI set), which must have it.
func need(t *testing.T, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if full, err := exec.LookPath(p); err == nil {
			return full
		}
	}
	if os.Getenv("CI") == "" {
		t.Skipf("no %s: install it (scripts/deps.sh) to run the browser test", paths[0])
	}
	t.Fatalf("no %s on CI", paths[0])
	return ""
}

// blueVideo writes a y4m of a solid blue 640×480 picture at 30 fps, the
// camera Chromium fakes.
func blueVideo(t *testing.T, ffmpeg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "blue.y4m")
	cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "color=c=blue:s=640x480:r=30:d=3", "-pix_fmt", "yuv420p", "-y", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// liveEnv is the page, an in-process edge and the sticker catalogue on one
// origin, in a headless browser whose camera is blueVideo.
type liveEnv struct {
	url  string
	edge *edge.Edge
	ctx  context.Context

	mu     sync.Mutex
	errors []string // uncaught exceptions of the page
	logs   []string // the page's console, shown when a wait fails
}

func startLive(t *testing.T) *liveEnv {
	chrome := need(t, "/usr/bin/chromium", "/usr/bin/chromium-browser")
	video := blueVideo(t, need(t, "ffmpeg"))

	e, err := edge.New(edge.DefaultConfig(), edge.Deps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	mux := http.NewServeMux()
	mux.Handle(Path, Handler())
	mux.Handle(Path+"/", Handler())
	e.Routes(mux)
	mux.HandleFunc("GET /v1/stickers", func(w http.ResponseWriter, r *http.Request) {
		type entry struct {
			builtin.Sticker
			PreviewURL string `json:"preview_url"`
		}
		var items []entry
		for _, s := range builtin.List() {
			items = append(items, entry{s, "/v1/stickers/" + s.Name})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": items})
	})
	mux.HandleFunc("GET /v1/stickers/{name}", func(w http.ResponseWriter, r *http.Request) {
		s, err := builtin.Lookup(r.PathValue("name"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/"+s.Format)
		_ = builtin.Encode(s.Name, w)
	})
	// An edge that is full, to see a signaling refusal reach the page.
	mux.HandleFunc("POST /full/v1/rtc/sessions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		problem.Write(w, r, errcode.New(errcode.RTCMediaFailed, "this edge is at its session limit"))
	})
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", video),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)

	env := &liveEnv{url: srv.URL, edge: e, ctx: browserCtx}
	console := chromedp.Console(browserCtx)
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			env.mu.Lock()
			if m.IsException() {
				env.errors = append(env.errors, m.String())
			}
			env.logs = append(env.logs, m.String())
			env.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		env.mu.Lock()
		defer env.mu.Unlock()
		for _, e := range env.errors {
			t.Errorf("page exception: %s", e)
		}
		for _, l := range env.logs {
			if strings.Contains(l, "Content Security Policy") {
				t.Errorf("page console: %s", l)
			}
		}
	})
	return env
}

// do runs actions, failing the test with what was being done.
func (env *liveEnv) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(env.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](t *testing.T, env *liveEnv, expr string) T {
	t.Helper()
	v, err := chromedp.Run(env.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// until polls check until it holds or pollTimeout passes; check returns
// whether it holds and what it saw, for the failure message.
func (env *liveEnv) until(t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for {
		ok, saw := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			page := eval[string](t, env, `document.getElementById('status').textContent + ' | ' + document.getElementById('errors').textContent`)
			env.mu.Lock()
			logs := strings.Join(env.logs, "\n")
			env.mu.Unlock()
			t.Fatalf("waiting for %s: last saw %s (page says: %s)\nconsole:\n%s", what, saw, page, logs)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// rgb is a colour sampled from the returned video.
type rgb struct{ R, G, B float64 }

func (c rgb) String() string { return fmt.Sprintf("rgb(%.0f,%.0f,%.0f)", c.R, c.G, c.B) }

// blue and red tell the fake camera's blue from the heart's pink-red
// (#EB3255), with room for VP8's losses twice over.
func (c rgb) blue() bool { return c.B > 170 && c.R < 70 && c.G < 70 }
func (c rgb) red() bool  { return c.R > 160 && c.G < 110 && c.B < 150 && c.R > c.B+50 }

// sampleJS draws the current frame of the returned video into a canvas and
// averages a 5×5 patch around each point, given as fractions of the frame.
const sampleJS = `((points) => {
	const v = document.getElementById('remote');
	if (!v || v.readyState < 2 || !v.videoWidth) return null;
	const c = document.createElement('canvas');
	c.width = v.videoWidth; c.height = v.videoHeight;
	const g = c.getContext('2d', { willReadFrequently: true });
	g.drawImage(v, 0, 0);
	return points.map(([fx, fy]) => {
		const x = Math.min(c.width - 5, Math.max(0, Math.round(fx * c.width) - 2));
		const y = Math.min(c.height - 5, Math.max(0, Math.round(fy * c.height) - 2));
		const d = g.getImageData(x, y, 5, 5).data;
		const s = { R: 0, G: 0, B: 0 };
		for (let i = 0; i < d.length; i += 4) { s.R += d[i]; s.G += d[i + 1]; s.B += d[i + 2]; }
		return { R: s.R / 25, G: s.G / 25, B: s.B / 25 };
	});
})(%s)`

// sample returns the colours at points of the returned video's current
// frame, nil while there is none.
func (env *liveEnv) sample(t *testing.T, points ...[2]float64) []rgb {
	t.Helper()
	b, _ := json.Marshal(points)
	return eval[[]rgb](t, env, fmt.Sprintf(sampleJS, b))
}

// waitColours waits until each point of the returned video has the colour
// its test wants.
func (env *liveEnv) waitColours(t *testing.T, what string, points [][2]float64, want []func(rgb) bool) {
	t.Helper()
	env.until(t, what, func() (bool, string) {
		got := env.sample(t, points...)
		if got == nil {
			return false, "no frame yet"
		}
		saw := make([]string, len(got))
		ok := true
		for i, c := range got {
			saw[i] = fmt.Sprintf("%v at %v", c, points[i])
			ok = ok && want[i](c)
		}
		return ok, strings.Join(saw, ", ")
	})
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
		const steps = 20
		for i := 1; i <= steps; i++ {
			f := float64(i) / steps
			if err := send(chromedp.MouseMoved, from[0]+(to[0]-from[0])*f, from[1]+(to[1]-from[1])*f, 1); err != nil {
				return err
			}
			time.Sleep(10 * time.Millisecond) // a hand's pace, so that the throttle has something to do
		}
		return send(chromedp.MouseReleased, to[0], to[1], 0)
	})
}

// box is an element's place in the viewport.
type box struct{ X, Y, W, H float64 }

func (env *liveEnv) box(t *testing.T, selector string) box {
	t.Helper()
	return eval[box](t, env, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
		return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`, selector))
}

// liveSticker is a sticker as window.__stickerd lists it.
type liveSticker struct {
	ID    string
	Kind  string
	Label string
	X, Y  float64
	Width float64
}

func TestLivePage_StickersReachTheReturnedVideo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium and a realtime edge")
	}
	env := startLive(t)
	env.do(t, "loading /live", chromedp.Navigate(env.url+Path))

	env.until(t, "the page to connect", func() (bool, string) {
		ok := eval[bool](t, env, `!!(window.__stickerd && window.__stickerd.connected)`)
		return ok, "not connected"
	})
	centre, corner := [2]float64{0.5, 0.5}, [2]float64{0.05, 0.05}
	isBlue, isRed := rgb.blue, rgb.red
	env.waitColours(t, "the camera's blue to come back", [][2]float64{centre, corner}, []func(rgb) bool{isBlue, isBlue})
	if n := env.edge.Load().Sessions; n != 1 {
		t.Fatalf("the edge has %d sessions, want 1", n)
	}

	t.Log("adding a heart from the palette")
	env.do(t, "clicking the heart", chromedp.Click(chromedp.CSS(`.palette-item[data-name="heart"]:enabled`)))
	env.until(t, "the heart's ack", func() (bool, string) {
		st := eval[[]liveSticker](t, env, `window.__stickerd.stickers`)
		return len(st) == 1 && st[0].Label == "heart", fmt.Sprint(st)
	})
	env.waitColours(t, "the heart in the centre of the returned video", [][2]float64{centre, corner},
		[]func(rgb) bool{isRed, isBlue})

	t.Log("dragging it to the upper left")
	stage, handle := env.box(t, "#overlay"), env.box(t, ".handle")
	target := [2]float64{0.25, 0.3}
	from := [2]float64{handle.X + handle.W/2, handle.Y + handle.H/2}
	to := [2]float64{stage.X + target[0]*stage.W, stage.Y + target[1]*stage.H}
	// Record the updates the drag sends, to see the throttle.
	eval[bool](t, env, `(() => {
		const s = window.__stickerd.session, send = s.updateSticker.bind(s);
		window.__updates = [];
		s.updateSticker = (id, f) => { window.__updates.push({ t: performance.now(), x: f.x, y: f.y }); return send(id, f); };
		return true;
	})()`)
	env.do(t, "dragging the heart", pointerDrag(from, to))
	st := eval[[]liveSticker](t, env, `window.__stickerd.stickers`)
	if len(st) != 1 || abs(st[0].X-target[0]) > 0.01 || abs(st[0].Y-target[1]) > 0.01 {
		t.Fatalf("after the drag the page has %+v, want the heart at %v", st, target)
	}
	type update struct{ T, X, Y float64 }
	updates := eval[[]update](t, env, `window.__updates`)
	if len(updates) < 2 || len(updates) > 21 {
		t.Errorf("the drag sent %d updates for its 20 moves", len(updates))
	}
	for i := 1; i < len(updates)-1; i++ { // the last one is sent at once on release
		if gap := updates[i].T - updates[i-1].T; gap < 25 {
			t.Errorf("updates %d and %d are %.1f ms apart; the throttle allows ~30 a second", i-1, i, gap)
		}
	}
	t.Logf("the drag sent %d updates", len(updates))
	if n := len(updates); n > 0 && (abs(updates[n-1].X-st[0].X) > 1e-3 || abs(updates[n-1].Y-st[0].Y) > 1e-3) {
		t.Errorf("the last update sent %v,%v; the sticker is at %v,%v", updates[n-1].X, updates[n-1].Y, st[0].X, st[0].Y)
	}
	env.waitColours(t, "the heart to follow the drag", [][2]float64{target, centre, corner},
		[]func(rgb) bool{isRed, isBlue, isBlue})

	t.Log("moving it with updateSticker")
	moved := [2]float64{0.72, 0.68}
	eval[any](t, env, fmt.Sprintf(`window.__stickerd.move(%q, %v, %v).then(() => true)`, st[0].ID, moved[0], moved[1]))
	env.waitColours(t, "the heart to move", [][2]float64{moved, target, centre},
		[]func(rgb) bool{isRed, isBlue, isBlue})

	env.until(t, "the stats", func() (bool, string) {
		fps := eval[string](t, env, `document.getElementById('stat-fps').textContent`)
		p95 := eval[string](t, env, `document.getElementById('stat-p95').textContent`)
		ok := eval[bool](t, env, `!!window.__stickerd.stats && window.__stickerd.stats.fps > 0`)
		return ok && fps != "–" && strings.HasSuffix(p95, " ms"), fps + " fps, p95 " + p95
	})

	t.Log("adding a text sticker")
	env.do(t, "adding text", chromedp.SetValue(chromedp.ID("text-input"), "HELLO"), chromedp.Click(chromedp.ID("add-text")))
	env.until(t, "the text's ack", func() (bool, string) {
		st := eval[[]liveSticker](t, env, `window.__stickerd.stickers`)
		return len(st) == 2 && st[1].Kind == "text", fmt.Sprint(st)
	})
	var row [][2]float64
	for x := 0.38; x <= 0.62; x += 0.01 {
		row = append(row, [2]float64{x, 0.82})
	}
	env.until(t, "white letters on the bottom line", func() (bool, string) {
		for _, c := range env.sample(t, row...) {
			if c.R > 150 && c.G > 150 {
				return true, ""
			}
		}
		return false, "only blue along y=0.82"
	})

	png, err := chromedp.Run(env.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(os.TempDir(), "live.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Log("errors come back with their codes")
	code := eval[string](t, env, `window.__stickerd.addBuiltin('no-such-sticker').then(() => 'accepted', (e) => e.code + ': ' + e.message)`)
	if !strings.HasPrefix(code, "SPEC_INVALID: ") {
		t.Errorf("adding an unknown sticker: %s, want SPEC_INVALID", code)
	}
	type refusal struct {
		Code       string
		Status     int
		RetryAfter float64
		Reported   []map[string]string
	}
	got := eval[refusal](t, env, `(async () => {
		const { connect } = await import('/live/stickerd-rtc.js');
		const cam = document.getElementById('local').srcObject;
		const reported = [];
		try {
			await connect('/full', new MediaStream([cam.getVideoTracks()[0].clone()]), { onError: (e) => reported.push(e) });
			return { Code: 'connected' };
		} catch (e) {
			return { Code: e.code, Status: e.status, RetryAfter: e.retryAfter, Reported: reported };
		}
	})()`)
	if got.Code != "RTC_MEDIA_FAILED" || got.Status != 503 || got.RetryAfter != 7 ||
		len(got.Reported) != 1 || got.Reported[0]["code"] != "RTC_MEDIA_FAILED" {
		t.Errorf("a full edge: %+v, want RTC_MEDIA_FAILED, 503, Retry-After 7, reported once to onError", got)
	}

	t.Log("clearing")
	env.do(t, "clicking Clear all", chromedp.Click(chromedp.ID("clear")))
	env.waitColours(t, "the stickers to go", [][2]float64{moved, centre}, []func(rgb) bool{isBlue, isBlue})

	t.Log("the edge ending the session, and reconnecting")
	loc := eval[string](t, env, `window.__stickerd.session.location`)
	req, _ := http.NewRequest(http.MethodDelete, loc, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE %s: %v %v", loc, resp, err)
	}
	resp.Body.Close()
	env.until(t, "the page to see the session end", func() (bool, string) {
		s := eval[string](t, env, `document.getElementById('status').textContent + (document.getElementById('start').hidden ? '' : ' [Reconnect]')`)
		return strings.HasPrefix(s, "Disconnected: ") && strings.HasSuffix(s, "[Reconnect]"), s
	})
	t.Logf("the page says %q", eval[string](t, env, `document.getElementById('status').textContent`))
	env.do(t, "clicking Reconnect", chromedp.Click(chromedp.ID("start")))
	env.until(t, "the page to connect again", func() (bool, string) {
		ok := eval[bool](t, env, `!!(window.__stickerd && window.__stickerd.connected)`)
		return ok && env.edge.Load().Sessions == 1, fmt.Sprintf("connected %v, %d sessions", ok, env.edge.Load().Sessions)
	})
	if loc2 := eval[string](t, env, `window.__stickerd.session.location`); loc2 == loc {
		t.Errorf("reconnected to the same session %s", loc)
	}

	env.do(t, "clicking Stop", chromedp.Click(chromedp.ID("stop")))
	env.until(t, "the session to end on the edge", func() (bool, string) {
		n := env.edge.Load().Sessions
		return n == 0, fmt.Sprintf("%d sessions", n)
	})
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
