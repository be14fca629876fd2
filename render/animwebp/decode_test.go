package animwebp

import (
	"bytes"
	"errors"
	"image/color"
	"io"
	"strconv"
	"testing"
	"time"
)

type spot struct {
	x, y int
	c    color.NRGBA
}

var (
	red    = color.NRGBA{255, 0, 0, 255}
	blue   = color.NRGBA{0, 0, 255, 255}
	yellow = color.NRGBA{255, 255, 0, 255}
	white  = color.NRGBA{255, 255, 255, 255}
	greenA = color.NRGBA{0, 255, 0, 128}
	clear0 = color.NRGBA{} // fully transparent
	purple = color.NRGBA{126, 0, 127, 255}
)

func everywhere(c color.NRGBA) []spot {
	return []spot{{0, 0, c}, {31, 23, c}, {63, 47, c}, {63, 0, c}, {0, 47, c}}
}

// animFrames is what the img2webp fixtures show: red, green alpha 128,
// blue, then left half yellow with the right half transparent (the blue
// frame is disposed to background by the encoder).
var animFrames = [][]spot{
	everywhere(red),
	everywhere(greenA),
	everywhere(blue),
	{{0, 0, yellow}, {31, 47, yellow}, {32, 0, clear0}, {63, 47, clear0}},
}

func TestDecodeFixtures(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		file     string
		tol      int
		animated bool
		loops    int
		delays   []time.Duration
		frames   [][]spot
	}{
		// The 5 ms frame is shown for 100 ms, like browsers do.
		{"anim_lossless.webp", 0, true, 3, ms(100, 200, 50, 100), animFrames},
		{"anim_lossy.webp", 3, true, 0, ms(100, 200, 50, 100), animFrames},
		{"anim_mux.webp", 0, true, 0, ms(100, 100, 150, 120), [][]spot{
			everywhere(red),
			// 16x16 lossy blue alpha 128 blended over red at +16+8
			// (libwebp's integer blend rounds down).
			{{16, 8, purple}, {31, 23, purple},
				{15, 8, red}, {32, 8, red}, {16, 24, red}, {16, 7, red}},
			// Frame 1 disposed to transparent; green alpha 128 not
			// blended at +32+24.
			{{16, 8, clear0}, {31, 23, clear0}, {32, 24, greenA}, {47, 39, greenA},
				{48, 40, red}, {31, 24, red}, {15, 8, red}, {63, 47, red}},
			// 8x8 opaque white blended at +0+0.
			{{0, 0, white}, {7, 7, white}, {8, 8, red}, {16, 8, clear0}, {40, 30, greenA}},
		}},
		{"still_lossy.webp", 2, false, 0, ms(0), [][]spot{everywhere(red)}},
		{"still_lossless.webp", 0, false, 0, ms(0), [][]spot{animFrames[3]}},
		{"still_alpha.webp", 2, false, 0, ms(0), [][]spot{everywhere(greenA)}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			frames, info, err := Decode(bytes.NewReader(readFixture(t, tt.file)), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			var sum time.Duration
			for _, d := range tt.delays {
				sum += d
			}
			if !tt.animated {
				sum = 0
			}
			want := Info{Width: 64, Height: 48, Animated: tt.animated, Frames: len(tt.frames), LoopCount: tt.loops, Duration: sum}
			if info.Background = (color.NRGBA{}); info != want {
				t.Errorf("info = %+v, want %+v", info, want)
			}
			if len(frames) != len(tt.frames) {
				t.Fatalf("got %d frames, want %d", len(frames), len(tt.frames))
			}
			for i, f := range frames {
				if f.Delay != tt.delays[i] {
					t.Errorf("frame %d delay = %v, want %v", i, f.Delay, tt.delays[i])
				}
				if got := f.Image.Bounds(); got.Dx() != 64 || got.Dy() != 48 {
					t.Errorf("frame %d bounds = %v", i, got)
				}
				for _, s := range tt.frames[i] {
					got := at(f.Image, s.x, s.y)
					if s.c.A == 0 {
						got.R, got.G, got.B = 0, 0, 0 // colour of transparent pixels is irrelevant
					}
					if !near(got, s.c, tt.tol) {
						t.Errorf("frame %d (%d,%d) = %v, want %v ±%d", i, s.x, s.y, got, s.c, tt.tol)
					}
				}
			}
		})
	}
}

// TestDecodeMatchesReference compares whole images: the lossy gradient
// against libwebp's own decode (dwebp), bit for bit, and the lossless one
// against its source PNG.
func TestDecodeMatchesReference(t *testing.T) {
	tests := []struct{ webp, png string }{
		{"gradient_lossy.webp", "gradient_lossy_dwebp.png"},
		{"gradient_lossless.webp", "gradient.png"},
	}
	for _, tt := range tests {
		t.Run(tt.webp, func(t *testing.T) {
			frames, info, err := Decode(bytes.NewReader(readFixture(t, tt.webp)), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			want := readPNG(t, tt.png)
			if len(frames) != 1 || info.Width != 63 || info.Height != 47 {
				t.Fatalf("got %d frames, info %+v", len(frames), info)
			}
			got := frames[0].Image
			for y := 0; y < 47; y++ {
				for x := 0; x < 63; x++ {
					if g, w := at(got, x, y), at(want, x, y); g != w {
						t.Fatalf("(%d,%d) = %v, want %v", x, y, g, w)
					}
				}
			}
		})
	}
}

// TestCompositing builds animations from fixture bitstreams to check
// offsets, blending and disposal exactly (lossless sub-frames).
func TestCompositing(t *testing.T) {
	redBits := bitstream(t, "anim_mux.webp", 0)   // 64x48 opaque red
	greenBits := bitstream(t, "anim_mux.webp", 2) // 16x16 green alpha 128
	// 8x8 opaque white with a padding byte after the bitstream, so the
	// VP8L chunk has an odd size and needs a pad byte.
	whiteBits := bitstream(t, "anim_mux.webp", 3)
	whiteBits = chunk("VP8L", append(bytes.Clone(whiteBits[8:]), 0))
	const blend, noBlend, dispose = 0, anmfNoBlend, anmfDispose
	tests := []struct {
		name   string
		frames [][]byte
		want   []spot // checked on the last frame
	}{
		{"blend over opaque", [][]byte{
			anmfChunk(0, 0, 64, 48, 100, noBlend, redBits),
			anmfChunk(32, 24, 16, 16, 100, blend, greenBits),
		}, []spot{{32, 24, color.NRGBA{126, 127, 0, 255}}, {47, 39, color.NRGBA{126, 127, 0, 255}}, {48, 40, red}, {31, 23, red}}},
		{"no blend keeps source alpha", [][]byte{
			anmfChunk(0, 0, 64, 48, 100, noBlend, redBits),
			anmfChunk(32, 24, 16, 16, 100, noBlend, greenBits),
		}, []spot{{32, 24, greenA}, {47, 39, greenA}, {48, 40, red}}},
		{"blend over transparent", [][]byte{
			anmfChunk(0, 0, 16, 16, 100, blend, greenBits),
		}, []spot{{0, 0, greenA}, {15, 15, greenA}, {16, 16, clear0}, {63, 47, clear0}}},
		{"blend over half transparent", [][]byte{
			anmfChunk(0, 0, 16, 16, 100, blend, greenBits),
			anmfChunk(0, 0, 16, 16, 100, blend, greenBits),
		}, []spot{{0, 0, color.NRGBA{0, 254, 0, 192}}, {16, 16, clear0}}},
		{"dispose to background", [][]byte{
			anmfChunk(0, 0, 64, 48, 100, noBlend|dispose, redBits),
			anmfChunk(0, 0, 8, 8, 100, blend, whiteBits),
		}, []spot{{0, 0, white}, {8, 8, clear0}, {63, 47, clear0}}},
		{"dispose only the previous frame", [][]byte{
			anmfChunk(0, 0, 64, 48, 100, noBlend, redBits),
			anmfChunk(32, 24, 16, 16, 100, noBlend|dispose, greenBits),
			anmfChunk(0, 0, 8, 8, 100, blend, whiteBits),
		}, []spot{{0, 0, white}, {10, 10, red}, {32, 24, clear0}, {47, 39, clear0}, {48, 40, red}}},
		{"offset at canvas corner", [][]byte{
			anmfChunk(56, 40, 8, 8, 100, blend, whiteBits),
		}, []spot{{56, 40, white}, {63, 47, white}, {55, 40, clear0}, {56, 39, clear0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, info, err := Decode(bytes.NewReader(animated(64, 48, 0, tt.frames...)), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != len(tt.frames) || info.Frames != len(tt.frames) {
				t.Fatalf("got %d frames, info %+v", len(frames), info)
			}
			last := frames[len(frames)-1].Image
			for _, s := range tt.want {
				if got := at(last, s.x, s.y); got != s.c {
					t.Errorf("(%d,%d) = %v, want %v", s.x, s.y, got, s.c)
				}
			}
		})
	}
}

func TestProbe(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			got, err := Probe(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			_, want, err := Decode(bytes.NewReader(data), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Probe = %+v, Decode info = %+v", got, want)
			}
		})
	}
	data := readFixture(t, "anim_mux.webp")
	info, _ := Probe(bytes.NewReader(data), int64(len(data)))
	if want := (color.NRGBA{10, 20, 30, 255}); info.Background != want {
		t.Errorf("Background = %v, want %v", info.Background, want)
	}
}

func TestFrameDelay(t *testing.T) {
	tests := []struct {
		ms   int
		want time.Duration
	}{
		{0, 100 * time.Millisecond},
		{5, 100 * time.Millisecond},
		{10, 100 * time.Millisecond},
		{11, 11 * time.Millisecond},
		{1000, time.Second},
		{1<<24 - 1, (1<<24 - 1) * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.ms), func(t *testing.T) {
			if got := frameDelay(tt.ms); got != tt.want {
				t.Errorf("frameDelay(%d) = %v, want %v", tt.ms, got, tt.want)
			}
		})
	}
}

type failReaderAt struct {
	data []byte
	err  error
}

func (r failReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(r.data)) {
		return 0, r.err
	}
	return copy(p, r.data[off:]), nil
}

func TestProbeReaderErrors(t *testing.T) {
	data := readFixture(t, "anim_mux.webp")
	boom := errors.New("boom")
	tests := []struct {
		name string
		ra   io.ReaderAt
		size int64
		want error
	}{
		{"I/O error in header", failReaderAt{nil, boom}, int64(len(data)), boom},
		{"I/O error in chunks", failReaderAt{data[:100], boom}, int64(len(data)), boom},
		{"size larger than data", bytes.NewReader(data[:100]), int64(len(data)), ErrCorrupt},
		{"negative size", bytes.NewReader(data), -1, ErrNotWebP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Probe(tt.ra, tt.size); !errors.Is(err, tt.want) {
				t.Errorf("Probe error = %v, want %v", err, tt.want)
			}
		})
	}
}
