package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
)

// jpegWithOrientation encodes a w×h JPEG and inserts an EXIF APP1
// segment carrying orientation o (little- or big-endian TIFF).
func jpegWithOrientation(t *testing.T, w, h, o int, bigEndian bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{255, 0, 0, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	var bo interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.LittleEndian
	tiff := []byte("II*\x00")
	if bigEndian {
		bo, tiff = binary.BigEndian, []byte("MM\x00*")
	}
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 1)
	tiff = bo.AppendUint16(tiff, 0x0112)
	tiff = bo.AppendUint16(tiff, 3)
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, uint16(o))
	tiff = bo.AppendUint16(tiff, 0)
	tiff = bo.AppendUint32(tiff, 0)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	seg := append([]byte{0xFF, 0xE1}, binary.BigEndian.AppendUint16(nil, uint16(len(app1)+2))...)
	seg = append(seg, app1...)
	src := b.Bytes()
	return append(append(append([]byte{}, src[:2]...), seg...), src[2:]...)
}

func TestProbe_JPEGOrientation(t *testing.T) {
	dir := t.TempDir()
	p := Prober{FFprobe: "ffprobe", Limits: DefaultLimits()}
	for _, tt := range []struct {
		o      int
		big    bool
		w, h   int
		orient int
	}{
		{0, false, 40, 20, 0}, {1, true, 40, 20, 1}, {3, false, 40, 20, 3},
		{5, true, 20, 40, 5}, {6, false, 20, 40, 6}, {6, true, 20, 40, 6}, {8, false, 20, 40, 8},
	} {
		data := jpegWithOrientation(t, 40, 20, tt.o, tt.big)
		if tt.o == 0 {
			var b bytes.Buffer
			jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 40, 20)), nil)
			data = b.Bytes()
		}
		path := writeFile(t, dir, "p.jpg", data)
		info, err := p.Probe(context.Background(), path, errcode.AssetUnsupported)
		if err != nil {
			t.Fatal(err)
		}
		if info.Width != tt.w || info.Height != tt.h || info.Orientation != tt.orient {
			t.Errorf("orientation %d: got %dx%d orientation %d, want %dx%d orientation %d",
				tt.o, info.Width, info.Height, info.Orientation, tt.w, tt.h, tt.orient)
		}
	}
}

func TestOrient(t *testing.T) {
	// A 3×2 picture whose pixels are numbered 0..5 in reading order.
	src := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := 0; i < 6; i++ {
		src.Set(i%3, i/3, color.NRGBA{uint8(i), 0, 0, 255})
	}
	// What a viewer shows, in reading order, for each orientation.
	want := map[int][]uint8{
		1: {0, 1, 2, 3, 4, 5},
		2: {2, 1, 0, 5, 4, 3},
		3: {5, 4, 3, 2, 1, 0},
		4: {3, 4, 5, 0, 1, 2},
		5: {0, 3, 1, 4, 2, 5},
		6: {3, 0, 4, 1, 5, 2},
		7: {5, 2, 4, 1, 3, 0},
		8: {2, 5, 1, 4, 0, 3},
	}
	for o, w := range want {
		img := orient(src, o).(*image.NRGBA)
		var got []uint8
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := 0; x < img.Bounds().Dx(); x++ {
				got = append(got, img.NRGBAAt(x, y).R)
			}
		}
		if !bytes.Equal(got, w) {
			t.Errorf("orientation %d: got %v, want %v", o, got, w)
		}
	}
}

func TestUprightJPEG(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "p.jpg", jpegWithOrientation(t, 40, 20, 6, false))
	dst := filepath.Join(dir, "p.png")
	if err := UprightJPEG(src, dst, 6); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(dst)
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != 20 || cfg.Height != 40 {
		t.Fatalf("upright picture %dx%d (%v), want 20x40", cfg.Width, cfg.Height, err)
	}
}

// ffmpeg turns a clip with a display matrix upright; the probe reports
// the displayed frame.
func TestProbe_DisplayRotation(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=1",
		"-c:v", "libx264", base).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	p := Prober{FFprobe: "ffprobe", Limits: DefaultLimits()}
	for _, tt := range []struct {
		rotate string
		w, h   int
	}{{"0", 96, 64}, {"90", 64, 96}, {"180", 96, 64}, {"270", 64, 96}} {
		path := filepath.Join(dir, "rot"+tt.rotate+".mp4")
		if out, err := exec.Command("ffmpeg", "-v", "error", "-i", base, "-c", "copy",
			"-metadata:s:v:0", "rotate="+tt.rotate, path).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		info, err := p.Probe(context.Background(), path, errcode.SourceUnreadable)
		if err != nil {
			t.Fatal(err)
		}
		if info.Width != tt.w || info.Height != tt.h {
			t.Errorf("rotate %s: %dx%d, want %dx%d (rotation %d)", tt.rotate, info.Width, info.Height, tt.w, tt.h, info.Rotation)
		}
	}
}
