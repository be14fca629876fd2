package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
)

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func pngBytes(t *testing.T, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(t *testing.T, frames int) []byte {
	g := &gif.GIF{}
	for i := 0; i < frames; i++ {
		img := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White})
		g.Image, g.Delay = append(g.Image, img), append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bomb is a PNG whose header claims w×h pixels.
func bomb(t *testing.T, w, h uint32) []byte {
	b := pngBytes(t, 1, 1)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestProbe(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe is needed: make deps")
	}
	dir := t.TempDir()
	video := filepath.Join(dir, "v.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1",
		"-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-c:a", "aac", "-shortest", video).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	small := DefaultLimits()
	small.MaxBytes, small.MaxFrames = 1<<20, 5
	tests := []struct {
		name  string
		path  string
		lim   Limits
		kind  Kind
		w, h  int
		code  errcode.Code
		audio bool
	}{
		{"video", video, DefaultLimits(), KindVideo, 96, 64, "", true},
		{"png", writeFile(t, dir, "a.png", pngBytes(t, 40, 30)), DefaultLimits(), KindImage, 40, 30, "", false},
		{"animated gif", writeFile(t, dir, "a.gif", gifBytes(t, 3)), DefaultLimits(), KindAnimated, 8, 8, "", false},
		{"too many frames", writeFile(t, dir, "b.gif", gifBytes(t, 9)), small, "", 0, 0, errcode.AssetTooLarge, false},
		{"bomb", writeFile(t, dir, "bomb.png", bomb(t, 200000, 200000)), DefaultLimits(), "", 0, 0, errcode.AssetTooLarge, false},
		{"too many bytes", writeFile(t, dir, "big.bin", make([]byte, 2<<20)), small, "", 0, 0, errcode.AssetTooLarge, false},
		{"garbage", writeFile(t, dir, "g.bin", []byte("not media at all")), DefaultLimits(), "", 0, 0, errcode.AssetUnsupported, false},
		{"empty", writeFile(t, dir, "e.bin", nil), DefaultLimits(), "", 0, 0, errcode.AssetUnsupported, false},
		{"missing", filepath.Join(dir, "nope"), DefaultLimits(), "", 0, 0, errcode.AssetUnsupported, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Prober{FFprobe: "ffprobe", Limits: tt.lim}
			info, err := p.Probe(context.Background(), tt.path, errcode.AssetUnsupported)
			if tt.code != "" {
				var e *errcode.Error
				if !errors.As(err, &e) || e.Code != tt.code {
					t.Fatalf("want %s, got %v", tt.code, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Kind != tt.kind || info.Width != tt.w || info.Height != tt.h || info.HasAudio != tt.audio {
				t.Fatalf("info %+v", info)
			}
		})
	}
}

func TestLimits_Validate(t *testing.T) {
	l := DefaultLimits()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	l.MaxFrames = 0
	if l.Validate() == nil {
		t.Fatal("zero limit accepted")
	}
}

func TestProbe_CacheKeysOnContent(t *testing.T) {
	dir := t.TempDir()
	video := filepath.Join(dir, "v.mp4")
	mk := func(size string) {
		if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=10:duration=1",
			"-c:v", "libx264", video).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	mk("96x64")
	p := Prober{FFprobe: "ffprobe", Limits: DefaultLimits(), Cache: NewCache(4)}
	a, err := p.Probe(context.Background(), video, errcode.SourceUnreadable)
	if err != nil || a.Width != 96 {
		t.Fatal(a, err)
	}
	// The same file again: answered from the cache even with ffprobe gone.
	p2 := p
	p2.FFprobe = "/nonexistent/ffprobe"
	if b, err := p2.Probe(context.Background(), video, errcode.SourceUnreadable); err != nil || b != a {
		t.Fatalf("cached probe %v %v", b, err)
	}
	// A changed file is probed afresh.
	mk("160x120")
	if c, err := p.Probe(context.Background(), video, errcode.SourceUnreadable); err != nil || c.Width != 160 {
		t.Fatalf("changed file answered from the cache: %v %v", c, err)
	}
}
