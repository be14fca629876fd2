package render

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSmartRender_PlaysInChromium makes a source whose parameter sets
// differ from those of the encoder's runs (Main profile with CAVLC and
// four reference frames, where the runs use CABAC and one), renders it
// smart, checks that both kinds of SPS are in the result, and plays it
// in headless Chromium to its end: no error event, and the duration
// within a frame of the source's.
func TestSmartRender_PlaysInChromium(t *testing.T) {
	skipShort(t)
	browser := ""
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no /usr/bin/chromium: install it (apt-get install chromium) to run the playback test")
	}
	ctx := renderCtx(t)
	dir := t.TempDir()
	src := numberedSource(t, dir, "src.mp4", 8, 60, "-profile:v", "main",
		"-x264-params", "ref=4:bframes=2:b-pyramid=none:cabac=0")
	s := smartSpec(t, dir, src, "", [2]float64{2.5, 3.5}, [2]float64{6.2, 6.4})
	out := filepath.Join(dir, "smart.mp4")
	res, err := testEngine.Render(ctx, localJob(s, dir, out))
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Mode != ModeSmart || len(res.Plan.Copies) < 2 {
		t.Fatalf("plan %+v, want smart with copies either side", res.Plan)
	}
	if n := distinctSPS(t, out); n < 2 {
		t.Fatalf("the result has %d distinct SPS; the test needs the runs' to differ from the source's", n)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/video.mp4", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, out) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><video id="v" muted playsinline src="/video.mp4"></video><script>
const v = document.getElementById('v');
window.events = [];
for (const e of ['error', 'ended', 'loadedmetadata', 'stalled']) v.addEventListener(e, () => window.events.push(e));
v.addEventListener('loadedmetadata', () => { v.playbackRate = 8; v.play().catch(e => window.events.push('play: ' + e)); });
</script>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	bctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(bctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	type state struct {
		Events   []string
		Error    string
		Duration float64
		Ended    bool
		Frames   int
	}
	read := func() state {
		v, err := chromedp.Run(browserCtx, chromedp.Evaluate[state](`(() => { const v = document.getElementById('v');
			const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
			return {Events: window.events, Error: v.error ? v.error.code + ': ' + v.error.message : '',
				Duration: v.duration || 0, Ended: v.ended, Frames: q}; })()`))
		if err != nil {
			t.Fatalf("reading the video's state: %v", err)
		}
		return v
	}
	deadline := time.Now().Add(60 * time.Second)
	var st state
	for st = read(); !st.Ended && st.Error == "" && time.Now().Before(deadline); st = read() {
		time.Sleep(200 * time.Millisecond)
	}
	if st.Error != "" || !st.Ended {
		t.Fatalf("playback: ended %v, error %q, events %v", st.Ended, st.Error, st.Events)
	}
	for _, e := range st.Events {
		if e == "error" {
			t.Errorf("an error event: %v", st.Events)
		}
	}
	if math.Abs(st.Duration-8) > 1.0/30 {
		t.Errorf("Chromium says the video lasts %.4f s, want 8 within a frame", st.Duration)
	}
	if st.Frames == 0 {
		t.Errorf("Chromium decoded no frames")
	}
}

// distinctSPS counts the different sequence parameter sets in an H.264
// MP4's samples and sample description.
func distinctSPS(t *testing.T, path string) int {
	t.Helper()
	raw, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-c", "copy",
		"-bsf:v", "h264_mp4toannexb", "-f", "h264", "-").Output()
	if err != nil {
		t.Fatalf("extracting the H.264 stream: %v", err)
	}
	seen := map[string]bool{}
	for _, nal := range bytes.Split(raw, []byte{0, 0, 1}) {
		nal = bytes.TrimRight(nal, "\x00")
		if len(nal) > 0 && nal[0]&0x1f == 7 {
			seen[string(nal)] = true
		}
	}
	return len(seen)
}
