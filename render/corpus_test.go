package render

// The real-world media corpus: clips shaped like what users upload (other
// codecs and containers, phone rotations, odd sizes, variable frame rates,
// surround audio, broken uploads), made with ffmpeg at test time (see
// corpus_helpers_test.go), each rendered with one red image sticker and
// checked against ffprobe's view of the written file and its pixels.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/animwebp"
)

// The sticker of every corpus render: a 100x100 red square, 0.2 of the
// output width, centred at (0.25, 0.5).
const corpusSticker = `{"type":"image","path":"red.png","x":0.25,"y":0.5,"width":0.2}`

type corpusCase struct {
	name   string
	clip   string
	format string  // mp4 when empty
	output string  // more members of "output", e.g. `"width":90`
	fps    float64 // output.fps when it is given (put it in output too); 0: the source's average rate, at most 60
	w, h   int     // the output size the contract gives
	// noPixels: the frame is too small to measure a sticker in.
	noPixels bool
	// still: every output frame is alike, and the format's encoder
	// writes them as one still picture (libwebp merges equal frames).
	still bool
}

var corpusCases = []corpusCase{
	{name: "h264_aac_30fps", clip: "h264_aac.mp4", w: 320, h: 180},
	{name: "h264_aac_30fps_webm", clip: "h264_aac.mp4", format: "webm", w: 320, h: 180},
	{name: "h264_aac_30fps_gif", clip: "h264_aac.mp4", format: "gif", output: `,"fps":25`, fps: 25, w: 320, h: 180},
	{name: "h264_aac_30fps_webp", clip: "h264_aac.mp4", format: "webp", w: 320, h: 180},
	{name: "no_audio", clip: "h264_noaudio.mp4", w: 320, h: 180},
	{name: "static_picture", clip: "h264_static.mp4", w: 320, h: 180},
	{name: "static_picture_webp", clip: "h264_static.mp4", format: "webp", w: 320, h: 180, still: true},
	{name: "static_picture_gif", clip: "h264_static.mp4", format: "gif", output: `,"fps":25`, fps: 25, w: 320, h: 180},
	{name: "hevc_aac", clip: "hevc_aac.mp4", w: 320, h: 180},
	{name: "hevc_10bit", clip: "hevc_10bit.mp4", w: 320, h: 180},
	{name: "vp9_opus_webm", clip: "vp9_opus.webm", w: 320, h: 180},
	{name: "prores_mov", clip: "prores_pcm.mov", w: 320, h: 180},
	{name: "av1", clip: "av1.mp4", w: 320, h: 180},
	{name: "mpegts_h264_aac", clip: "h264_aac.ts", w: 320, h: 180},
	{name: "h264_10bit", clip: "h264_10bit.mp4", w: 320, h: 180},
	{name: "h264_444", clip: "h264_444.mp4", w: 320, h: 180},
	{name: "full_range", clip: "h264_fullrange.mp4", w: 320, h: 180},
	{name: "odd_321x181_vp9", clip: "vp9_321x181.webm", w: 320, h: 180},
	{name: "odd_321x181_h264_444", clip: "h264_444_321x181.mp4", w: 320, h: 180},
	{name: "tiny_16x16", clip: "tiny_16x16.mp4", w: 16, h: 16},
	{name: "tiny_2x2", clip: "tiny_2x2.mp4", w: 2, h: 2, noPixels: true},
	{name: "uhd_3840x2160", clip: "uhd_3840x2160.mp4", output: `,"quality":"draft"`, w: 3840, h: 2160},
	{name: "fps_60", clip: "fps60.mp4", w: 320, h: 180},
	{name: "fps_120_capped_at_60", clip: "fps120.mp4", w: 320, h: 180},
	{name: "fps_23.976", clip: "fps23976_flash.mp4", w: 320, h: 180},
	{name: "fps_23.976_output_fps_15", clip: "fps23976_flash.mp4", output: `,"fps":15`, fps: 15, w: 320, h: 180},
	{name: "vfr_24_30", clip: "vfr_24_30.mp4", w: 320, h: 180},
	{name: "vfr_24_30_webm", clip: "vfr_24_30.mp4", format: "webm", w: 320, h: 180},
	{name: "portrait_90", clip: "rot90.mp4", w: 180, h: 320},
	{name: "rotated_180", clip: "rot180.mp4", w: 320, h: 180},
	{name: "portrait_270", clip: "rot270.mp4", w: 180, h: 320},
	{name: "portrait_90_width_90", clip: "rot90.mp4", output: `,"width":90`, w: 90, h: 160},
	{name: "portrait_90_height_250", clip: "rot90.mp4", output: `,"height":250`, w: 140, h: 250},
	{name: "portrait_270_webm_width_100", clip: "rot270.mp4", format: "webm", output: `,"width":100`, w: 100, h: 178},
	{name: "portrait_90_gif", clip: "rot90.mp4", format: "gif", output: `,"fps":25`, fps: 25, w: 180, h: 320},
}

// TestCorpus_RendersRealWorldMedia renders every valid clip of the corpus
// and checks the written file: (1) ffprobe's codec, size, constant frame
// rate, frame count, duration and audio; (2) the Result agrees with it;
// (3) the sticker's size and place, the picture's orientation (where
// ffmpeg's own decode of the source puts the green corner marker) and
// its colours, on the displayed frame.
func TestCorpus_RendersRealWorldMedia(t *testing.T) {
	for _, c := range corpusCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.format == "" {
				c.format = "mp4"
			}
			src := corpusClip(t, c.clip)
			corpusClip(t, "red.png")
			sp := corpusFFprobe(t, src)
			sv, ok := sp.video()
			if !ok {
				t.Fatalf("corpus clip %s has no video stream", c.clip)
			}
			srcFPS := corpusRate(sv.AvgFrameRate)
			if srcFPS <= 0 {
				srcFPS = corpusRate(sv.RFrameRate)
			}
			wantFPS := c.fps
			if wantFPS == 0 {
				wantFPS = math.Min(srcFPS, 60)
			}
			srcDur := sp.videoDuration()
			srcAudio := len(sp.streams("audio")) > 0
			dw, dh := sv.displayed()
			t.Logf("source %s: %s %dx%d stored, %dx%d displayed (rotation %d), r_frame_rate %s, avg_frame_rate %s, %.3f s, audio %v",
				c.clip, sv.CodecName, sv.Width, sv.Height, dw, dh, sv.rotation(), sv.RFrameRate, sv.AvgFrameRate, srcDur, srcAudio)

			js := fmt.Sprintf(`{"source":{"path":%q},"stickers":[%s],"output":{"format":%q%s}}`,
				filepath.Base(src), corpusSticker, c.format, c.output)
			res, out, err := renderCorpus(t, c.format, js)
			if err != nil {
				t.Fatalf("render failed: %v\nwanted a %dx%d %s at %.3f fps", err, c.w, c.h, c.format, wantFPS)
			}
			if res == nil {
				t.Fatal("Render returned neither a Result nor an error")
			}
			m := corpusMeasure(t, c.format, out)
			t.Logf("output: %s", m)
			t.Logf("result: %dx%d %.3f fps %.3f s %d bytes", res.Width, res.Height, res.FPS, res.Duration, res.Bytes)

			// (1) The written file.
			if m.w != c.w || m.h != c.h {
				t.Errorf("output is %dx%d, want %dx%d (source %dx%d displayed)", m.w, m.h, c.w, c.h, dw, dh)
			}
			if c.format != "gif" && (m.w%2 != 0 || m.h%2 != 0) {
				t.Errorf("output is %dx%d: %s with 4:2:0 needs even sides", m.w, m.h, c.format)
			}
			if want := map[string]string{"mp4": "h264", "webm": "vp9", "gif": "gif", "webp": "webp"}[c.format]; m.codec != want {
				t.Errorf("video codec %q, want %q", m.codec, want)
			}
			if c.still {
				if m.frames != 1 {
					t.Errorf("%d frames, want the one still picture %s writes for equal frames", m.frames, c.format)
				}
			} else if !m.constant {
				t.Errorf("frame rate not constant: %s", m.rateNote)
			}
			if c.still {
				// no rate, count or duration to check
			} else if !corpusRelNear(m.fps, wantFPS, 0.005) {
				t.Errorf("frame rate %.4f fps (%s), want %.4f (%s)", m.fps, m.rateNote, wantFPS, corpusWantRateNote(c, sv))
			}
			wantFrames := int(math.Round(wantFPS * srcDur))
			if c.still {
				wantFrames = 1
			}
			if corpusAbs(m.frames-wantFrames) > 1 {
				t.Errorf("%d frames, want %d ± 1 (%.3f fps × %.3f s of source)", m.frames, wantFrames, wantFPS, srcDur)
			}
			durTol := math.Max(1/wantFPS, 0.1)
			if !c.still && math.Abs(m.duration-srcDur) > durTol {
				t.Errorf("duration %.3f s, want the source's %.3f s ± %.3f", m.duration, srcDur, durTol)
			}
			wantAudio := srcAudio && (c.format == "mp4" || c.format == "webm")
			if wantAudio != (len(m.audio) > 0) {
				t.Errorf("audio streams %v, want audio %v (source has audio: %v, %s carries audio: %v)",
					m.audio, wantAudio, srcAudio, c.format, c.format == "mp4" || c.format == "webm")
			}
			if len(m.audio) > 1 {
				t.Errorf("%d audio streams %v, want one", len(m.audio), m.audio)
			}
			if wantAudio && len(m.audio) == 1 {
				if want := map[string]string{"mp4": "aac", "webm": "opus"}[c.format]; m.audio[0] != want {
					t.Errorf("audio codec %q, want %q", m.audio[0], want)
				}
			}

			// (2) The Result agrees with the file.
			if res.Width != m.w || res.Height != m.h {
				t.Errorf("Result says %dx%d, the file is %dx%d", res.Width, res.Height, m.w, m.h)
			}
			if !corpusRelNear(res.FPS, m.fps, 0.005) {
				t.Errorf("Result says %.4f fps, the file has %.4f (%s)", res.FPS, m.fps, m.rateNote)
			}
			if math.Abs(res.Duration-m.duration) > durTol {
				t.Errorf("Result says %.3f s, the file lasts %.3f s", res.Duration, m.duration)
			}
			if res.Bytes != m.bytes {
				t.Errorf("Result says %d bytes, the file has %d", res.Bytes, m.bytes)
			}

			// (3) Pixels of the displayed frame.
			if c.noPixels || m.w != c.w || m.h != c.h {
				return
			}
			at := math.Min(0.5, srcDur/2)
			var got corpusFrame
			if c.format == "webp" {
				got = corpusDecodeWebPAt(t, out, at)
			} else {
				got = corpusDecodeAt(t, out, at, m.w, m.h, false)
			}
			ref := corpusDecodeAt(t, src, at, m.w, m.h, true) // ffmpeg's own upright picture, at the output size
			corpusCheckPicture(t, got, ref)
		})
	}
}

// corpusCheckPicture compares an output frame with ffmpeg's decode of the
// source at the same size: the red sticker where the spec puts it, the
// green corner marker where ffmpeg puts it, and the same colours.
func corpusCheckPicture(t *testing.T, got, ref corpusFrame) {
	t.Helper()
	W, H := float64(got.w), float64(got.h)
	red := corpusFindBox(got, corpusIsRed)
	wantW := 0.2 * W
	switch {
	case red.n == 0:
		t.Errorf("no red sticker in the %dx%d frame; want a %.0fx%.0f box centred at (%.0f,%.0f)", got.w, got.h, wantW, wantW, 0.25*W, 0.5*H)
	default:
		if math.Abs(float64(red.w())-wantW) > corpusTolPx(wantW) || math.Abs(float64(red.h())-wantW) > corpusTolPx(wantW) {
			t.Errorf("red sticker is %dx%d, want %.1fx%.1f ± %.1f (0.2 of the %d px width, square); box %s",
				red.w(), red.h(), wantW, wantW, corpusTolPx(wantW), got.w, red)
		}
		if math.Abs(red.cx()-0.25*W) > corpusTolPx(W) || math.Abs(red.cy()-0.5*H) > corpusTolPx(H) {
			t.Errorf("red sticker centred at (%.1f,%.1f), want (%.1f,%.1f) = (0.25 W, 0.5 H) of %dx%d; box %s",
				red.cx(), red.cy(), 0.25*W, 0.5*H, got.w, got.h, red)
		}
	}
	if wantG := corpusFindBox(ref, corpusIsGreen); wantG.n > 0 {
		g := corpusFindBox(got, corpusIsGreen)
		tol := corpusTolPx(W / 4)
		if g.n == 0 || math.Abs(float64(g.x0-wantG.x0)) > tol || math.Abs(float64(g.x1-wantG.x1)) > tol ||
			math.Abs(float64(g.y0-wantG.y0)) > corpusTolPx(H/4) || math.Abs(float64(g.y1-wantG.y1)) > corpusTolPx(H/4) {
			t.Errorf("green corner marker at %s, but ffmpeg's decode of the source (display rotation applied) has it at %s: the picture is turned, flipped, squeezed or padded",
				g, wantG)
		}
	}
	r := 2
	if got.w < 40 || got.h < 40 {
		r = 0
	}
	worst := 0
	for _, p := range [][2]float64{{0.6, 0.5}, {0.01, 0.5}, {0.99, 0.5}, {0.6, 0.01}, {0.6, 0.99}} {
		x, y := int(p[0]*W), int(p[1]*H)
		x, y = min(max(x, 0), got.w-1), min(max(y, 0), got.h-1)
		gc, rc := got.mean(x, y, r), ref.mean(x, y, r)
		d := max(corpusAbs(int(gc.R)-int(rc.R)), corpusAbs(int(gc.G)-int(rc.G)), corpusAbs(int(gc.B)-int(rc.B)))
		worst = max(worst, d)
		if d > corpusColourTol {
			t.Errorf("background at (%d,%d) is %v, ffmpeg's decode of the source has %v: %d apart, at most %d (colour range, padding or conversion wrong)",
				x, y, gc, rc, d, corpusColourTol)
		}
	}
	t.Logf("background colours within %d of ffmpeg's decode of the source", worst)
}

// corpusColourTol is how far (per 8-bit channel, averaged over a 5x5
// patch) an output's background may be from ffmpeg's decode of the
// source. Reading full-range video as limited range (or the reverse)
// moves the corpus background by 10 to 14.
const corpusColourTol = 8

// corpusMeasured is what the written file says about itself.
type corpusMeasured struct {
	codec    string
	w, h     int
	fps      float64 // average rate
	constant bool
	rateNote string
	frames   int
	duration float64
	audio    []string
	bytes    int64
}

func (m corpusMeasured) String() string {
	return fmt.Sprintf("%s %dx%d, %s, %d frames, %.3f s, audio %v, %d bytes", m.codec, m.w, m.h, m.rateNote, m.frames, m.duration, m.audio, m.bytes)
}

func corpusMeasure(t *testing.T, format, path string) corpusMeasured {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no output file: %v", err)
	}
	m := corpusMeasured{bytes: st.Size()}
	if format == "webp" {
		// ffmpeg 5.1 cannot demux animated WebP: read it in Go.
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		frames, info, err := animwebp.Decode(f, animwebp.DefaultLimits())
		if err != nil {
			t.Fatalf("the output is not a readable WebP: %v", err)
		}
		m.codec, m.w, m.h, m.frames = "webp", info.Width, info.Height, len(frames)
		var total float64
		lo, hi := math.Inf(1), 0.0
		for _, fr := range frames {
			d := fr.Delay.Seconds()
			total += d
			lo, hi = math.Min(lo, d), math.Max(hi, d)
		}
		m.duration = total
		if total > 0 {
			m.fps = float64(len(frames)) / total
		}
		// WebP delays are whole milliseconds: 30 fps is 33 and 34 ms.
		m.constant = hi-lo <= 0.0011
		m.rateNote = fmt.Sprintf("frame delays %.0f..%.0f ms, average %.3f fps", lo*1000, hi*1000, m.fps)
		return m
	}
	p := corpusFFprobe(t, path)
	v, ok := p.video()
	if !ok {
		t.Fatalf("the output has no video stream: %+v", p)
	}
	m.codec, m.w, m.h, m.frames = v.CodecName, v.Width, v.Height, v.frames()
	r, avg := corpusRate(v.RFrameRate), corpusRate(v.AvgFrameRate)
	m.fps = avg
	if avg <= 0 {
		m.fps = r
	}
	m.constant = corpusRelNear(r, m.fps, 0.005)
	m.rateNote = fmt.Sprintf("r_frame_rate %s, avg_frame_rate %s", v.RFrameRate, v.AvgFrameRate)
	m.duration = p.videoDuration()
	for _, a := range p.streams("audio") {
		m.audio = append(m.audio, a.CodecName)
	}
	return m
}

func corpusRelNear(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(b), 1e-9) }

func corpusWantRateNote(c corpusCase, sv corpusStream) string {
	if c.fps > 0 {
		return "output.fps"
	}
	return fmt.Sprintf("the source's average rate %s, at most 60", sv.AvgFrameRate)
}

// TestCorpus_AVSync renders clips with a white flash and a beep at the
// same moment and checks that they stay together in the output, and at
// the same time as in the source: within one output frame and 20 ms.
func TestCorpus_AVSync(t *testing.T) {
	for _, c := range []struct {
		name, clip, format, output string
	}{
		{"vfr_24_30", "vfr_24_30.mp4", "mp4", ""},
		{"vfr_24_30_webm", "vfr_24_30.mp4", "webm", ""},
		{"fps_23.976", "fps23976_flash.mp4", "mp4", ""},
		{"fps_23.976_output_fps_30", "fps23976_flash.mp4", "mp4", `,"fps":30`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := corpusClip(t, c.clip)
			corpusClip(t, "red.png")
			srcFlash, ok1 := corpusFlashTime(t, src)
			srcBeep, ok2 := corpusBeepTime(t, src)
			if !ok1 || !ok2 {
				t.Fatalf("corpus clip %s: flash found %v, beep found %v", c.clip, ok1, ok2)
			}
			js := fmt.Sprintf(`{"source":{"path":%q},"stickers":[%s],"output":{"format":%q%s}}`,
				filepath.Base(src), corpusSticker, c.format, c.output)
			res, out, err := renderCorpus(t, c.format, js)
			if err != nil {
				t.Fatalf("render failed: %v", err)
			}
			flash, ok1 := corpusFlashTime(t, out)
			beep, ok2 := corpusBeepTime(t, out)
			if !ok1 || !ok2 {
				t.Fatalf("output: flash found %v (at %.3f s), beep found %v (at %.3f s); the source has them at %.3f and %.3f s",
					ok1, flash, ok2, beep, srcFlash, srcBeep)
			}
			fps := corpusMeasure(t, c.format, out).fps
			if fps <= 0 {
				fps = res.FPS
			}
			tol := 1/fps + 0.020
			t.Logf("source: flash %.4f s, beep %.4f s; output (%.3f fps): flash %.4f s, beep %.4f s", srcFlash, srcBeep, fps, flash, beep)
			if math.Abs(flash-beep) > tol {
				t.Errorf("out of sync: flash at %.4f s, beep at %.4f s in the output (%+.1f ms; at most %.1f ms, one frame + 20 ms); source: %.4f / %.4f s",
					flash, beep, (flash-beep)*1000, tol*1000, srcFlash, srcBeep)
			}
			if math.Abs(flash-srcFlash) > tol {
				t.Errorf("the flash moved: %.4f s in the output, %.4f s in the source (at most %.1f ms apart)", flash, srcFlash, tol*1000)
			}
			if math.Abs(beep-srcBeep) > tol {
				t.Errorf("the beep moved: %.4f s in the output, %.4f s in the source (at most %.1f ms apart)", beep, srcBeep, tol*1000)
			}
		})
	}
}

// TestCorpus_RefusesUnusableSources: broken uploads, audio alone and
// pictures are refused as a source with SOURCE_UNREADABLE, without a
// panic and without leaving an output.
func TestCorpus_RefusesUnusableSources(t *testing.T) {
	for _, c := range []struct {
		name, clip string
		mention    []string // the message must contain each
		refuse     []string // and none of these
	}{
		{"truncated_upload", "truncated_faststart.mp4", nil, nil},
		{"zero_bytes", "zero_bytes.mp4", nil, nil},
		{"random_bytes", "random_bytes.mp4", nil, nil},
		{"text_named_mp4", "text.mp4", nil, nil},
		{"audio_only_m4a", "audio_only.m4a", nil, nil},
		{"still_png", "still.png", []string{"an image"}, []string{"a image"}},
		{"still_jpeg", "still.jpg", []string{"an image"}, []string{"a image"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := corpusClip(t, c.clip)
			corpusClip(t, "red.png")
			js := fmt.Sprintf(`{"source":{"path":%q},"stickers":[%s]}`, filepath.Base(src), corpusSticker)
			res, out, err := renderCorpus(t, "mp4", js)
			if err == nil {
				msg := fmt.Sprintf("render of %s succeeded (Result: %dx%d, %.3f fps, %.3f s, %d bytes), want SOURCE_UNREADABLE",
					c.clip, res.Width, res.Height, res.FPS, res.Duration, res.Bytes)
				if _, serr := os.Stat(out); serr == nil {
					msg += "; the output: " + corpusMeasure(t, "mp4", out).String()
				}
				if sp := corpusFFprobeQuiet(src); sp != "" {
					msg += "; ffprobe of the source: " + sp
				}
				t.Fatal(msg)
			}
			var ec *errcode.Error
			if !errors.As(err, &ec) {
				t.Errorf("error is a %T, not an *errcode.Error: %v", err, err)
			}
			if got := errcode.Of(err); got != errcode.SourceUnreadable {
				t.Errorf("code %s, want SOURCE_UNREADABLE; error: %v", got, err)
			}
			for _, s := range c.mention {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not say %q", err.Error(), s)
				}
			}
			for _, s := range c.refuse {
				if strings.Contains(err.Error(), s) {
					t.Errorf("message %q says %q (grammar)", err.Error(), s)
				}
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Errorf("a failed render left %s behind", out)
			}
			t.Logf("error: %v", err)
		})
	}
}

// corpusFFprobeQuiet summarises a file for a failure message; "" when
// ffprobe cannot read it.
func corpusFFprobeQuiet(path string) string {
	var p corpusProbe
	out, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path).Output()
	if err != nil || json.Unmarshal(out, &p) != nil {
		return ""
	}
	return fmt.Sprintf("format %s, duration %s s, %d streams", p.Format.FormatName, p.Format.Duration, len(p.Streams))
}

// TestCorpus_AudioLayouts: surround, mono and several-track sources keep
// exactly one audible audio stream in the output's codec.
func TestCorpus_AudioLayouts(t *testing.T) {
	for _, c := range []struct{ name, clip, format string }{
		{"5.1side_ac3_to_webm", "ac3_51side.mkv", "webm"},
		{"5.1side_ac3_to_mp4", "ac3_51side.mkv", "mp4"},
		{"mono_to_webm", "aac_mono.mp4", "webm"},
		{"7.1_to_webm", "aac_71.mp4", "webm"},
		{"quad_to_webm", "aac_quad.mp4", "webm"},
		{"4.0_to_webm", "aac_40.mp4", "webm"},
		{"two_tracks_to_mp4", "two_tracks.mp4", "mp4"},
		{"two_tracks_to_webm", "two_tracks.mp4", "webm"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := corpusClip(t, c.clip)
			corpusClip(t, "red.png")
			sp := corpusFFprobe(t, src)
			var layouts []string
			for _, a := range sp.streams("audio") {
				layouts = append(layouts, fmt.Sprintf("%s %s (%d ch)", a.CodecName, a.ChannelLayout, a.Channels))
			}
			js := fmt.Sprintf(`{"source":{"path":%q},"stickers":[%s],"output":{"format":%q}}`,
				filepath.Base(src), corpusSticker, c.format)
			_, out, err := renderCorpus(t, c.format, js)
			if err != nil {
				t.Fatalf("render of a source with audio %v to %s failed: %v", layouts, c.format, err)
			}
			op := corpusFFprobe(t, out)
			audio := op.streams("audio")
			var got []string
			for _, a := range audio {
				got = append(got, fmt.Sprintf("%s %s (%d ch)", a.CodecName, a.ChannelLayout, a.Channels))
			}
			t.Logf("source audio %v -> output audio %v", layouts, got)
			if len(audio) != 1 {
				t.Fatalf("output has %d audio streams %v, want exactly one (source: %v)", len(audio), got, layouts)
			}
			if want := map[string]string{"mp4": "aac", "webm": "opus"}[c.format]; audio[0].CodecName != want {
				t.Errorf("audio codec %s, want %s", audio[0].CodecName, want)
			}
			// The tone is in the first track only (a mono tone upmixed:
			// in the centre channel of 5.1 and 7.1); a stereo downmix
			// keeps it at about -3 dB.
			if v, src := corpusMaxVolume(t, out), corpusMaxVolume(t, src); v < src-8 {
				t.Errorf("output audio peaks at %.1f dBFS, the source's first track at %.1f dBFS: the tone is lost or attenuated by more than 8 dB", v, src)
			}
		})
	}
}

// TestCorpus_EXIFOrientedJPEGSticker: a 40x20 stored JPEG with EXIF
// orientation 6 is shown 20x40, upright; at width 0.2 of a 320x180 canvas
// it is 64 px wide and 128 px tall, red on top (the stored left half).
func TestCorpus_EXIFOrientedJPEGSticker(t *testing.T) {
	canvas := `{"color":"#203870","width":320,"height":180,"duration":1,"fps":10}`
	t.Run("size", func(t *testing.T) {
		corpusClip(t, "exif6_red.jpg")
		res, out, err := renderCorpus(t, "mp4", `{"source":`+canvas+`,"stickers":[{"type":"image","path":"exif6_red.jpg","width":0.2}]}`)
		if err != nil {
			t.Fatalf("render failed: %v", err)
		}
		f := corpusDecodeAt(t, out, 0.5, res.Width, res.Height, false)
		b := corpusFindBox(f, corpusIsRed)
		if b.n == 0 || math.Abs(float64(b.w())-64) > corpusTolPx(64) || math.Abs(float64(b.h())-128) > corpusTolPx(128) {
			t.Errorf("red sticker is %s, want 64x128 (a 40x20 JPEG with EXIF orientation 6 is 20x40 upright; 0.2 × 320 = 64 wide)", b)
		}
		if b.n > 0 && (math.Abs(b.cx()-160) > 3 || math.Abs(b.cy()-90) > 3) {
			t.Errorf("red sticker centred at (%.1f,%.1f), want (160,90)", b.cx(), b.cy())
		}
	})
	t.Run("upright", func(t *testing.T) {
		corpusClip(t, "exif6_redgreen.jpg")
		res, out, err := renderCorpus(t, "mp4", `{"source":`+canvas+`,"stickers":[{"type":"image","path":"exif6_redgreen.jpg","width":0.2}]}`)
		if err != nil {
			t.Fatalf("render failed: %v", err)
		}
		f := corpusDecodeAt(t, out, 0.5, res.Width, res.Height, false)
		r, g := corpusFindBox(f, corpusIsRed), corpusFindBox(f, corpusIsGreen)
		if r.n == 0 || g.n == 0 {
			t.Fatalf("red half %s, green half %s: want both", r, g)
		}
		if !(r.cy() < g.cy()-20) || math.Abs(r.cx()-g.cx()) > 4 {
			t.Errorf("red half at %s, green half at %s: want red above green in one 64 px column (EXIF 6 turns the stored left half to the top)", r, g)
		}
		all := corpusBox{x0: min(r.x0, g.x0), y0: min(r.y0, g.y0), x1: max(r.x1, g.x1), y1: max(r.y1, g.y1), n: r.n + g.n}
		if math.Abs(float64(all.w())-64) > corpusTolPx(64) || math.Abs(float64(all.h())-128) > corpusTolPx(128) {
			t.Errorf("sticker is %s, want 64x128", all)
		}
	})
}
