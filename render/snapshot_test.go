package render

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/spec"
)

// snapshotStickers are the stickers of the pixel tests: one that moves
// by keyframes, an animated GIF that changes colour every half second,
// a spinning one (a frame stream, rotated per frame) and text that fades
// in; all below the number blocks.
const snapshotStickers = `[
	{"type":"image","path":"red.png","width":0.12,"keyframes":[{"t":0,"x":0.1,"y":0.5},{"t":4,"x":0.9,"y":0.9}]},
	{"type":"image","path":"blink.gif","width":0.1,"x":0.15,"y":0.25},
	{"type":"image","path":"blue.png","width":0.15,"x":0.75,"y":0.35,"animation":"spin"},
	{"type":"text","text":"Hi","x":0.5,"y":0.3,"start":0.5,"animation":"fade-in"}]`

func snapshotFixtures(t *testing.T) fixtures {
	f := newFixtures(t)
	f.png("red.png", 40, 40, red)
	f.png("blue.png", 40, 20, blue)
	f.gif("blink.gif", 32, 32, 50, red, green)
	return f
}

// snapshot renders a png or jpg of spec JSON js (source and stickers
// given, output added) at t.
func snapshot(t *testing.T, f fixtures, source, stickers, format string, tm float64, extra string) (*Result, image.Image) {
	t.Helper()
	js := fmt.Sprintf(`{"source":%s,"stickers":%s,"output":{"format":%q,"time":%g%s}}`, source, stickers, format, tm, extra)
	s, err := spec.Parse([]byte(js), spec.ParseOptions{AllowPaths: true})
	if err != nil {
		t.Fatalf("spec refused: %v", err)
	}
	out := filepath.Join(f.dir, fmt.Sprintf("snap-%g.%s", tm, format))
	res, err := testEngine.Render(renderCtx(t), localJob(s, f.dir, out))
	if err != nil {
		t.Fatalf("snapshot at %g s: %v", tm, err)
	}
	return res, decodePicture(t, out)
}

func decodePicture(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return img
}

func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok {
		return n
	}
	n := image.NewNRGBA(img.Bounds())
	draw.Draw(n, n.Bounds(), img, img.Bounds().Min, draw.Src)
	return n
}

// pictureDiff compares two pictures of one size: the mean absolute
// difference of the RGB channels, and the share of pixels where some
// channel differs by more than 64 (a sticker in another place, another
// GIF frame, another source frame).
func pictureDiff(a, b *image.NRGBA) (mean, far float64) {
	var sum, n, farN int
	for i := 0; i+3 < len(a.Pix); i += 4 {
		worst := 0
		for c := range 3 {
			d := abs(int(a.Pix[i+c]) - int(b.Pix[i+c]))
			sum += d
			worst = max(worst, d)
		}
		n++
		if worst > 64 {
			farN++
		}
	}
	return float64(sum) / float64(3*n), float64(farN) / float64(n)
}

// pictureNumber reads the frame number off a numbered source's blocks.
func pictureNumber(img *image.NRGBA) int {
	n := 0
	for b := range numberBits {
		c := img.NRGBAAt(b*numberBlock+numberBlock/2, numberBlock/2)
		if (int(c.R)+int(c.G)+int(c.B))/3 > 128 {
			n |= 1 << b
		}
	}
	return n
}

// TestSnapshot_MatchesFullRender is the pixel test: a snapshot at t is
// the frame a full mp4 render shows at t (the source frame on screen
// then, read back from its number blocks), with every sticker as it is
// then, on and between frames, at keyframes and between them, on a
// source with B-frames.
func TestSnapshot_MatchesFullRender(t *testing.T) {
	skipShort(t)
	f := snapshotFixtures(t)
	src := numberedSource(t, f.dir, "numbered.mp4", 4, 30) // 30 fps, a keyframe every second, B-frames
	source := fmt.Sprintf(`{"path":%q}`, src)
	full := filepath.Join(f.dir, "full.mp4")
	s, err := spec.Parse([]byte(fmt.Sprintf(`{"source":%s,"stickers":%s,"output":{"format":"mp4","quality":"high","render_mode":"full"}}`,
		source, snapshotStickers)), spec.ParseOptions{AllowPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testEngine.Render(renderCtx(t), localJob(s, f.dir, full)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		time   float64
		frame  int
		format string
	}{
		{0, 0, "png"},
		{0.4, 12, "png"},     // on a frame, inside the first GOP
		{1, 30, "png"},       // on a keyframe
		{1.37, 41, "png"},    // between frames 41 (1.3667 s) and 42: 41 is on screen
		{2.0999, 62, "png"},  // just before frame 63
		{3.99, 119, "png"},   // the last frame
		{1.37, 41, "jpg"},    // JPEG: the same frame, within JPEG's loss
		{2.5, 75, "jpg"},     // mid-GOP, the GIF on its second frame
		{0.75, 22, "png"},    // the GIF's second frame, text half faded in
		{3.2666, 97, "png"},  // 3.2666 is before frame 98 (3.26667 s)
		{3.26667, 98, "png"}, // and this is within a microsecond of it
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s at %g s", tt.format, tt.time), func(t *testing.T) {
			res, img := snapshot(t, f, source, snapshotStickers, tt.format, tt.time, "")
			got := toNRGBA(img)
			if n := pictureNumber(got); n != tt.frame {
				t.Fatalf("the snapshot shows source frame %d, want %d", n, tt.frame)
			}
			// The seek is where the frame rate puts the frame (rounded up to
			// the microsecond): found at once, nothing read first.
			seek := ""
			if i := slices.Index(res.Args, "-ss"); i >= 0 {
				seek = res.Args[i+1]
			}
			if want := formatUS(int64(math.Ceil(float64(tt.frame) * 1e6 / 30))); tt.frame > 0 && seek != want {
				t.Errorf("seek %q, want %q", seek, want)
			}
			if !slices.Contains(res.Args, "-copyts") {
				t.Errorf("no -copyts: %v", res.Args)
			}
			want := frame(t, full, tt.frame, 320, 240)
			mean, far := pictureDiff(got, want)
			// The full render is H.264 at CRF 18: a PNG of the same frame
			// differs by its compression only; a JPEG by both.
			maxMean, maxFar := 1.5, 0.001
			if tt.format == "jpg" {
				maxMean, maxFar = 3.0, 0.002
			}
			t.Logf("against frame %d of the full render: mean %.2f, %.3f%% far off", tt.frame, mean, far*100)
			if mean > maxMean || far > maxFar {
				t.Errorf("differs from frame %d of the full render: mean %.2f (at most %g), %.2f%% of pixels far off (at most %g%%)",
					tt.frame, mean, maxMean, far*100, maxFar*100)
			}
			// Its neighbours differ: the test can tell frames apart.
			for _, n := range []int{tt.frame - 1, tt.frame + 1} {
				if n < 0 || n >= 120 {
					continue
				}
				if m, _ := pictureDiff(got, frame(t, full, n, 320, 240)); m <= mean {
					t.Errorf("frame %d of the full render is as close (mean %.2f) as frame %d (%.2f)", n, m, tt.frame, mean)
				}
			}
		})
	}
}

// TestSnapshot_OffTheRateGrid: a source whose video starts 0.05 s after
// its sound (1.5 frames) has its frames off the grid its frame rate
// draws from the file's start. The seek the rate suggests finds no frame
// then; the frames around t are read from the container instead, and
// the snapshot is still the frame on screen at t, as the full render
// shows it.
func TestSnapshot_OffTheRateGrid(t *testing.T) {
	skipShort(t)
	f := snapshotFixtures(t)
	numbered := numberedSource(t, f.dir, "numbered.mp4", 3, 30)
	src := filepath.Join(f.dir, "late.mp4")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-y", "-itsoffset", "0.05", "-i", numbered, "-i", numbered,
		"-map", "0:v", "-map", "1:a", "-c", "copy", src).CombinedOutput(); err != nil {
		t.Fatalf("delaying the video: %v %s", err, b)
	}
	source := fmt.Sprintf(`{"path":%q}`, src)
	full := filepath.Join(f.dir, "full.mp4")
	s, err := spec.Parse([]byte(fmt.Sprintf(`{"source":%s,"stickers":%s,"output":{"format":"mp4","quality":"high","render_mode":"full"}}`,
		source, snapshotStickers)), spec.ParseOptions{AllowPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testEngine.Render(renderCtx(t), localJob(s, f.dir, full)); err != nil {
		t.Fatal(err)
	}
	// The mp4 is constant-rate from 0: its first frame is shown three
	// times (0 to 0.1 s), and its later frames two places on.
	numbers, _ := decodedFrames(t, full, 320, 240)
	tests := []struct {
		time  float64
		frame int
		seek  string // the source's -ss; "" for none
	}{
		{0.02, 0, "0.050000"},  // before the first frame (0.05 s): the first frame
		{1, 28, "0.983334"},    // frame 28 starts at 0.98333 s, frame 29 at 1.01667 s
		{1.05, 30, "1.033334"}, // on frame 30, found from where the rate's grid puts frame 31
		{2.5, 73, "2.483334"},  // mid-GOP
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.time), func(t *testing.T) {
			res, img := snapshot(t, f, source, snapshotStickers, "png", tt.time, "")
			got := toNRGBA(img)
			if n := pictureNumber(got); n != tt.frame {
				t.Fatalf("the snapshot shows source frame %d, want %d", n, tt.frame)
			}
			seek := ""
			if i := slices.Index(res.Args, "-ss"); i >= 0 {
				seek = res.Args[i+1]
			}
			if seek != tt.seek {
				t.Errorf("seek %q, want %q", seek, tt.seek)
			}
			i := slices.Index(numbers, tt.frame)
			if mean, far := pictureDiff(got, frame(t, full, i, 320, 240)); mean > 1.5 || far > 0.001 {
				t.Errorf("differs from the full render's frame %d (source frame %d): mean %.2f, %.3f%% far off", i, tt.frame, mean, far*100)
			}
		})
	}
}

// TestSnapshot_Canvas checks a canvas snapshot's frame and stickers
// against a full render, and that a PNG of a transparent canvas keeps
// its alpha while a JPEG (which has none) is opaque.
func TestSnapshot_Canvas(t *testing.T) {
	skipShort(t)
	f := snapshotFixtures(t)
	const stickers = `[{"type":"image","path":"red.png","width":0.2,"keyframes":[{"t":0,"x":0.1,"y":0.5},{"t":2,"x":0.9,"y":0.5}]}]`
	full := filepath.Join(f.dir, "full.mp4")
	s, err := spec.Parse([]byte(`{"source":`+canvas(2)+`,"stickers":`+stickers+`,"output":{"format":"mp4","quality":"high"}}`),
		spec.ParseOptions{AllowPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testEngine.Render(renderCtx(t), localJob(s, f.dir, full)); err != nil {
		t.Fatal(err)
	}
	// 10 fps: 1.25 s shows frame 12 (1.2 s), where the sticker is at x 0.58.
	_, img := snapshot(t, f, canvas(2), stickers, "png", 1.25, "")
	got := toNRGBA(img)
	if mean, far := pictureDiff(got, frame(t, full, 12, 320, 240)); mean > 2.5 || far > 0.002 {
		t.Errorf("differs from frame 12 of the full render: mean %.2f, %.2f%% far off", mean, far*100)
	}
	if c := at(got, 0.58, 0.5); !near(c, red, 10) {
		t.Errorf("sticker centre %v, want red at x 0.58", c)
	}

	const clear = `{"color":"#00000000","width":320,"height":240,"duration":2,"fps":10}`
	res, img := snapshot(t, f, clear, stickers, "png", 1.25, "")
	if _, ok := img.(*image.NRGBA); !ok {
		t.Fatalf("a transparent canvas's PNG decodes as %T, want NRGBA (RGBA with alpha)", img)
	}
	got = toNRGBA(img)
	if c := got.NRGBAAt(2, 2); c.A != 0 {
		t.Errorf("corner %v, want transparent", c)
	}
	if c := at(got, 0.58, 0.5); c.A < 250 || !near(c, red, 10) {
		t.Errorf("sticker centre %v, want opaque red", c)
	}
	if res.Format != "png" || res.Frames != 1 {
		t.Errorf("result %+v", res)
	}
	_, img = snapshot(t, f, clear, stickers, "jpg", 1.25, "")
	if c := toNRGBA(img).NRGBAAt(2, 2); c.A != 255 {
		t.Errorf("jpg corner %v, want opaque", c)
	}
}

// TestSnapshot_Result checks the written files' signatures and what the
// Result measured from them: format, size (scaled, odd sides kept), one
// frame, no duration; a JPEG is full-range 4:2:0.
func TestSnapshot_Result(t *testing.T) {
	skipShort(t)
	f := snapshotFixtures(t)
	src := f.video("src.mp4", "testsrc2=size=640x360:rate=25:duration=2", true)
	source := fmt.Sprintf(`{"path":%q}`, src)
	const stickers = `[{"type":"image","path":"red.png","width":0.2}]`
	tests := []struct {
		format, extra string
		w, h          int
		magic         string
		codec, pixFmt string
	}{
		{"png", "", 640, 360, "\x89PNG\r\n\x1a\n", "png", "rgb24"},
		{"jpg", "", 640, 360, "\xff\xd8\xff", "mjpeg", "yuvj420p"},
		{"png", `,"width":320`, 320, 180, "\x89PNG\r\n\x1a\n", "png", "rgb24"},
		{"jpg", `,"width":161,"quality":"draft"`, 161, 91, "\xff\xd8\xff", "mjpeg", "yuvj420p"},
	}
	for _, tt := range tests {
		t.Run(tt.format+tt.extra, func(t *testing.T) {
			res, img := snapshot(t, f, source, stickers, tt.format, 1, tt.extra)
			b, err := os.ReadFile(res.Path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), tt.magic) {
				t.Errorf("starts % x, want the %s signature", b[:8], tt.format)
			}
			if res.Format != tt.format || res.Width != tt.w || res.Height != tt.h || res.Frames != 1 ||
				res.Duration != 0 || res.FPS != 0 || res.HasAudio || res.Bytes != int64(len(b)) {
				t.Errorf("result %s %dx%d, %d frames, %g s, %g fps, audio %v, %d bytes; want %s %dx%d, 1 frame, 0 s, no audio, %d bytes",
					res.Format, res.Width, res.Height, res.Frames, res.Duration, res.FPS, res.HasAudio, res.Bytes, tt.format, tt.w, tt.h, len(b))
			}
			if bd := img.Bounds(); bd.Dx() != tt.w || bd.Dy() != tt.h {
				t.Errorf("decodes %dx%d", bd.Dx(), bd.Dy())
			}
			if res.Plan == nil || res.Plan.Mode != ModeSnapshot || len(res.Plan.Parts) != 0 {
				t.Errorf("plan %+v, want mode snapshot without parts", res.Plan)
			}
			if res.Encoder.Name != tt.codec || res.Encoder.Chain != ChainCPU {
				t.Errorf("encoder %+v", res.Encoder)
			}
			p := ffprobe(t, res.Path)
			if len(p.Streams) != 1 || p.Streams[0].CodecName != tt.codec || p.Streams[0].PixFmt != tt.pixFmt {
				t.Errorf("ffprobe: %+v, want %s %s", p.Streams, tt.codec, tt.pixFmt)
			}
			if _, err := os.Stat(partialPath(res.Path)); !os.IsNotExist(err) {
				t.Errorf("the partial file was left behind: %v", err)
			}
		})
	}
	// The picture really is a JPEG Go reads as full-range YCbCr 4:2:0.
	_, img := snapshot(t, f, source, stickers, "jpg", 0.5, "")
	if y, ok := img.(*image.YCbCr); !ok || y.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Errorf("jpg decodes as %T, want 4:2:0 YCbCr", img)
	}
}

// TestSnapshot_TimePastTheEnd: an uploaded source's length is known when
// the job is planned; a time at or past it is SPEC_INVALID naming
// output.time, from Plan and from Render.
func TestSnapshot_TimePastTheEnd(t *testing.T) {
	skipShort(t)
	f := snapshotFixtures(t)
	src := f.video("src.mp4", "testsrc2=size=320x240:rate=25:duration=2", false)
	for _, tm := range []float64{2, 7.5} {
		s, err := spec.Parse([]byte(fmt.Sprintf(`{"source":{"path":%q},"stickers":[{"type":"image","path":"red.png"}],"output":{"format":"png","time":%g}}`, src, tm)),
			spec.ParseOptions{AllowPaths: true})
		if err != nil {
			t.Fatal(err)
		}
		job := localJob(s, f.dir, filepath.Join(f.dir, "out.png"))
		_, perr := testEngine.Plan(renderCtx(t), job, PlanOptions{Workers: 4})
		_, rerr := testEngine.Render(renderCtx(t), job)
		for _, err := range []error{perr, rerr} {
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code != errcode.SpecInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "output.time" ||
				!strings.Contains(e.Message, "not before the end of the source") {
				t.Errorf("time %g: got %v, want SPEC_INVALID on output.time", tm, err)
			}
		}
		if _, err := os.Stat(job.Output); !os.IsNotExist(err) {
			t.Errorf("time %g: an output was written", tm)
		}
	}
}

// TestFrameAt picks the frame on screen at t from packets in decode
// order (B-frames reorder them), with a file start time.
func TestFrameAt(t *testing.T) {
	// 30 fps in 1/15360 ticks (512 a frame), the file starting at 0.1 s
	// (1536 ticks); frames 0..7, decoded I P B B P B B P.
	idx := &media.PacketIndex{TBNum: 1, TBDen: 15360, StartUS: 100_000}
	for _, n := range []int64{0, 3, 1, 2, 6, 4, 5, 7} {
		idx.Packets = append(idx.Packets, media.Packet{PTS: 1536 + 512*n, DTS: 1536 + 512*n - 1024})
	}
	tests := []struct {
		t      float64
		start  float64
		seekUS int64
	}{
		{0, 0, -1},                     // the first frame: no seek
		{0.01, 0, -1},                  // still on it
		{1.0 / 30, 1.0 / 30, 33334},    // on frame 1 (rounded up, so the seek keeps it)
		{0.0666, 1.0 / 30, 33334},      // before frame 2 (0.06667 s)
		{0.1, 3.0 / 30, 100000},        // frame 3, a B-frame decoded after frame 3's P
		{0.21, 6.0 / 30, 200000},       // frame 6, decoded before 4 and 5
		{5, 7.0 / 30, 233334},          // past the packets read: the last
		{-0.05, 0, -1},                 // before the first frame: the first
		{0.19999999, 6.0 / 30, 200000}, // within half a microsecond of frame 6
	}
	for _, tt := range tests {
		pt := frameAt(idx, tt.t, 30)
		if math.Abs(pt.Start-tt.start) > 1e-9 || pt.SeekUS != tt.seekUS || pt.Frames != 1 {
			t.Errorf("t %g: start %g, seek %d µs, %d frames; want start %g, seek %d µs, 1 frame", tt.t, pt.Start, pt.SeekUS, pt.Frames, tt.start, tt.seekUS)
		}
	}
}

func TestHasSignature_Pictures(t *testing.T) {
	var pngBuf, jpgBuf bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.NRGBA{1, 2, 3, 255})
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpgBuf, img, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		format string
		head   []byte
		want   bool
	}{
		{"png", pngBuf.Bytes()[:12], true},
		{"jpg", jpgBuf.Bytes()[:12], true},
		{"png", jpgBuf.Bytes()[:12], false},
		{"jpg", pngBuf.Bytes()[:12], false},
		{"png", []byte("\x89PN"), false},
		{"jpg", []byte{0xff, 0xd8}, false},
	}
	for _, tt := range tests {
		if got := hasSignature(tt.format, tt.head); got != tt.want {
			t.Errorf("hasSignature(%s, % x) = %v, want %v", tt.format, tt.head, got, tt.want)
		}
	}
}
