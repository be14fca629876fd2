// Package assetstest makes small media files for tests of the asset store
// and the gateway: a PNG, an animated GIF, an MP4 made with the real ffmpeg,
// a TrueType font.
package assetstest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stickerd/stickerd/render/builtin"
	"golang.org/x/image/font/gofont/goregular"
)

// PNG returns a w×h opaque PNG.
func PNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xC0
	}
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// GIF returns the built-in animated sticker "beating-heart".
func GIF(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := builtin.Encode("beating-heart", &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Font returns the Go Regular TrueType font.
func Font() []byte { return goregular.TTF }

var (
	mp4Once sync.Once
	mp4     []byte
	mp4Err  error
)

// MP4 returns a one-second 64×48 H.264 video at 10 fps, made once per test
// binary with the real ffmpeg.
func MP4(t testing.TB) []byte {
	t.Helper()
	mp4Once.Do(func() {
		dir, err := os.MkdirTemp("", "assetstest-")
		if err != nil {
			mp4Err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "v.mp4")
		cmd := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1",
			"-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			mp4Err = &exec.Error{Name: "ffmpeg: " + string(msg), Err: err}
			return
		}
		mp4, mp4Err = os.ReadFile(out)
	})
	if mp4Err != nil {
		t.Fatalf("assetstest: making an MP4 (run `make deps` for ffmpeg): %v", mp4Err)
	}
	return mp4
}
