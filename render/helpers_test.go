package render

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stickerd/stickerd/render/spec"
)

var testEngine *Engine

func TestMain(m *testing.M) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		fmt.Fprintln(os.Stderr, "render tests need ffmpeg and ffprobe: run `make deps` (apt-get install ffmpeg)")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "render-test-")
	if err != nil {
		panic(err)
	}
	cfg := DefaultConfig()
	cfg.WorkDir, cfg.CacheDir = filepath.Join(dir, "work"), filepath.Join(dir, "cache")
	testEngine, err = New(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixtures writes the test's input files into dir and returns dir.
type fixtures struct {
	t   *testing.T
	dir string
}

func newFixtures(t *testing.T) fixtures { return fixtures{t, t.TempDir()} }

func (f fixtures) png(name string, w, h int, c color.NRGBA) string {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		f.t.Fatal(err)
	}
	return f.write(name, b.Bytes())
}

// gif writes an animation of solid frames, each shown for delay centiseconds.
func (f fixtures) gif(name string, w, h, delay int, colors ...color.NRGBA) string {
	g := &gif.GIF{LoopCount: 0}
	for _, c := range colors {
		pal := color.Palette{color.NRGBA{A: 0}, c}
		img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for i := range img.Pix {
			img.Pix[i] = 1
		}
		g.Image = append(g.Image, img)
		g.Delay = append(g.Delay, delay)
		g.Disposal = append(g.Disposal, gif.DisposalBackground)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		f.t.Fatal(err)
	}
	return f.write(name, b.Bytes())
}

func (f fixtures) write(name string, data []byte) string {
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// video makes a source video with ffmpeg's test sources.
func (f fixtures) video(name, lavfi string, audio bool, extra ...string) string {
	out := filepath.Join(f.dir, name)
	args := []string{"-v", "error", "-y", "-f", "lavfi", "-i", lavfi}
	if audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-shortest", "-c:a", "aac")
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	args = append(args, extra...)
	args = append(args, out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		f.t.Fatalf("making %s: %v\n%s", name, err, b)
	}
	return out
}

// renderJSON parses a spec (paths allowed, relative to the fixtures) and renders it.
func (f fixtures) render(ext, js string) (*Result, error) {
	f.t.Helper()
	s, err := spec.Parse([]byte(js), spec.ParseOptions{AllowPaths: true})
	if err != nil {
		f.t.Fatalf("spec refused: %v", err)
	}
	out := filepath.Join(f.dir, "out."+ext)
	return testEngine.Render(context.Background(), Job{Spec: s, Resolver: FileResolver{Dir: f.dir}, Output: out})
}

func (f fixtures) mustRender(ext, js string) *Result {
	f.t.Helper()
	res, err := f.render(ext, js)
	if err != nil {
		f.t.Fatalf("render: %v", err)
	}
	return res
}

// frame decodes output frame number n (0-based) of a video as RGBA.
func frame(t *testing.T, path string, n, w, h int) *image.NRGBA {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-vf", "select=eq(n\\,"+strconv.Itoa(n)+")",
		"-fps_mode", "passthrough", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || len(out) != w*h*4 {
		t.Fatalf("frame %d of %s: %v (%d bytes) %s", n, path, err, len(out), stderr.String())
	}
	return &image.NRGBA{Pix: out, Stride: w * 4, Rect: image.Rect(0, 0, w, h)}
}

// near reports whether c is within tol of want on each RGB channel.
func near(c color.NRGBA, want color.NRGBA, tol int) bool {
	d := func(a, b uint8) bool { return abs(int(a)-int(b)) <= tol }
	return d(c.R, want.R) && d(c.G, want.G) && d(c.B, want.B)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// at reads the pixel at fractional position (fx, fy).
func at(img *image.NRGBA, fx, fy float64) color.NRGBA {
	b := img.Bounds()
	return img.NRGBAAt(int(fx*float64(b.Dx())), int(fy*float64(b.Dy())))
}

var (
	red   = color.NRGBA{255, 0, 0, 255}
	green = color.NRGBA{0, 255, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
	white = color.NRGBA{255, 255, 255, 255}
)

// canvas is a blue 320x240 10 fps source of the given duration.
func canvas(d float64) string {
	return `{"color":"#0000FF","width":320,"height":240,"duration":` + strconv.FormatFloat(d, 'f', -1, 64) + `,"fps":10}`
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("renders video; skipped by -short")
	}
}

func mustAbs(t *testing.T, rel string) string {
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pngBomb is a valid PNG header claiming w×h pixels, with a tiny body.
func pngBomb(t *testing.T, w, h uint32) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	// IHDR data starts at byte 16: width, height (big-endian), then CRC at 29.
	binary.BigEndian.PutUint32(data[16:], w)
	binary.BigEndian.PutUint32(data[20:], h)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}
