package animwebp

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// decodeAll runs every entry point on data and reports the Decode error;
// any panic fails the test.
func decodeAll(t *testing.T, data []byte) error {
	t.Helper()
	_, _, err := Decode(bytes.NewReader(data), DefaultLimits())
	_, perr := Probe(bytes.NewReader(data), int64(len(data)))
	_, cerr := ConvertToAPNG(bytes.NewReader(data), io.Discard, DefaultLimits())
	if (err == nil) != (cerr == nil) {
		t.Errorf("Decode error %v, ConvertToAPNG error %v", err, cerr)
	}
	if err == nil && perr != nil {
		t.Errorf("Decode succeeded but Probe failed: %v", perr)
	}
	return err
}

func TestTruncated(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			for n := 0; n < len(data); n++ {
				if err := decodeAll(t, data[:n]); err == nil {
					t.Errorf("truncated at %d: no error", n)
				} else if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotWebP) {
					t.Errorf("truncated at %d: %v, want ErrCorrupt or ErrNotWebP", n, err)
				}
				_, perr := Probe(bytes.NewReader(data[:n]), int64(n))
				if perr == nil {
					t.Errorf("Probe truncated at %d: no error", n)
				}
				// Truncated with the RIFF size fixed up: the chunk walk
				// itself must catch it (or it is a shorter valid file).
				if n >= 12 {
					fixed := bytes.Clone(data[:n])
					fixed[4], fixed[5], fixed[6], fixed[7] = byte(n-8), byte((n-8)>>8), 0, 0
					decodeAll(t, fixed)
				}
			}
		})
	}
}

func TestByteFlips(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := readFixture(t, name)
			for i := range data {
				for _, x := range []byte{0x01, 0x10, 0x80, 0xff} {
					b := bytes.Clone(data)
					b[i] ^= x
					decodeAll(t, b) // must not panic; an error is fine
				}
			}
		})
	}
}

func TestCorrupt(t *testing.T) {
	onePixel := chunk("VP8L", vp8lHeader(1, 1))
	white := bitstream(t, "anim_mux.webp", 3) // 8x8 VP8L
	vp8 := bitstream(t, "still_lossy.webp", 0)
	interframe := bytes.Clone(vp8)
	interframe[8] |= 1 // frame tag: not a key frame
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotWebP},
		{"short RIFF", []byte("RIF"), ErrCorrupt},
		{"GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"), ErrNotWebP},
		{"WAVE", []byte("RIFF\x04\x00\x00\x00WAVE"), ErrNotWebP},
		{"RIFF size too small", []byte("RIFF\x02\x00\x00\x00WEBP"), ErrCorrupt},
		{"no chunks", riffWebP(), ErrCorrupt},
		{"RIFF size beyond data", append(riffWebP(white)[:12], white...)[:len(white)], ErrCorrupt},
		{"unknown first chunk", riffWebP(chunk("ABCD", []byte{1, 2})), ErrCorrupt},
		{"chunk overruns RIFF", riffWebP([]byte("VP8L\xff\x00\x00\x00")), ErrCorrupt},
		{"short VP8X", riffWebP(chunk("VP8X", []byte{2, 0, 0})), ErrCorrupt},
		{"bad VP8L signature", riffWebP(chunk("VP8L", []byte{0x2e, 0, 0, 0, 0})), ErrCorrupt},
		{"VP8L garbage body", riffWebP(chunk("VP8L", vp8lHeader(8, 8), bytes.Repeat([]byte{0xa5}, 20))), ErrCorrupt},
		{"VP8 not a key frame", riffWebP(interframe), ErrUnsupported},
		{"VP8 bad start code", riffWebP(chunk("VP8 ", make([]byte, 10))), ErrCorrupt},
		{"still VP8X without bitstream", riffWebP(vp8xChunk(0, 8, 8)), ErrCorrupt},
		{"still VP8X size mismatch", riffWebP(vp8xChunk(0, 9, 8), white), ErrCorrupt},
		{"empty ALPH", riffWebP(vp8xChunk(1<<4, 64, 48), chunk("ALPH"), vp8), ErrCorrupt},
		{"ANMF before ANIM", riffWebP(vp8xChunk(flagAnimation, 8, 8), anmfChunk(0, 0, 8, 8, 100, 0, white)), ErrCorrupt},
		{"animation without frames", animated(8, 8, 0), ErrCorrupt},
		{"animation without ANIM", riffWebP(vp8xChunk(flagAnimation, 8, 8)), ErrCorrupt},
		{"bitstream outside ANMF", animated(8, 8, 0, white), ErrCorrupt},
		{"frame outside canvas", animated(8, 8, 0, anmfChunk(2, 0, 8, 8, 100, 0, white)), ErrCorrupt},
		{"frame size mismatch", animated(8, 8, 0, anmfChunk(0, 0, 2, 2, 100, 0, onePixel)), ErrCorrupt},
		{"ANMF without bitstream", animated(8, 8, 0, anmfChunk(0, 0, 8, 8, 100, 0)), ErrCorrupt},
		{"short ANMF", animated(8, 8, 0, chunk("ANMF", make([]byte, 15))), ErrCorrupt},
		{"short ANIM", riffWebP(vp8xChunk(flagAnimation, 8, 8), chunk("ANIM", []byte{0})), ErrCorrupt},
		{"sub-chunk overruns ANMF", animated(8, 8, 0, anmfChunk(0, 0, 8, 8, 100, 0, white[:len(white)-4])), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := decodeAll(t, tt.data); !errors.Is(err, tt.want) {
				t.Errorf("Decode error = %v, want %v", err, tt.want)
			}
			if _, err := Probe(bytes.NewReader(tt.data), int64(len(tt.data))); err == nil && tt.want != ErrCorrupt && tt.want != ErrUnsupported {
				t.Errorf("Probe: no error, want %v", tt.want)
			}
		})
	}
}

type failReader struct{ err error }

func (r failReader) Read([]byte) (int, error) { return 0, r.err }

func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(readFixture(t, "anim_mux.webp")[:100]), failReader{boom})
	if _, _, err := Decode(r, DefaultLimits()); !errors.Is(err, boom) {
		t.Errorf("Decode error = %v, want it to wrap %v", err, boom)
	}
}

// allocated returns the bytes allocated while running f.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestLimits(t *testing.T) {
	onePixel := chunk("VP8L", vp8lHeader(1, 1))
	var many [][]byte
	for range 100_000 {
		many = append(many, anmfChunk(0, 0, 1, 1, 100, 0, onePixel))
	}
	manyFrames := animated(256, 256, 0, many...)
	tests := []struct {
		name     string
		data     []byte
		lim      Limits
		want     error
		detail   string // in the error message
		maxAlloc uint64
	}{
		{"16000x16000 animation", animated(16000, 16000, 0, anmfChunk(0, 0, 1, 1, 100, 0, onePixel)),
			DefaultLimits(), ErrTooLarge, "MaxWidth", 1 << 20},
		{"16000x16000 still", riffWebP(vp8xChunk(0, 16000, 16000), chunk("VP8L", vp8lHeader(16000, 16000))),
			DefaultLimits(), ErrTooLarge, "MaxWidth", 1 << 20},
		{"16384x16384 simple VP8L", riffWebP(chunk("VP8L", vp8lHeader(16384, 16384))),
			DefaultLimits(), ErrTooLarge, "MaxWidth", 1 << 20},
		{"100k frames", manyFrames, DefaultLimits(), ErrTooLarge, "MaxFrames", 8 * uint64(len(manyFrames))},
		{"MaxHeight", readFixture(t, "anim_mux.webp"), Limits{MaxHeight: 40}, ErrTooLarge, "MaxHeight", 1 << 20},
		{"MaxPixels", readFixture(t, "anim_mux.webp"), Limits{MaxPixels: 64 * 48 * 3}, ErrTooLarge, "MaxPixels", 1 << 20},
		{"MaxFrames", readFixture(t, "anim_mux.webp"), Limits{MaxFrames: 3}, ErrTooLarge, "MaxFrames", 1 << 20},
		{"exactly at limits", readFixture(t, "anim_mux.webp"), Limits{MaxWidth: 64, MaxHeight: 48, MaxFrames: 4, MaxPixels: 64 * 48 * 4}, nil, "", 4 << 20},
		{"zero limits mean defaults", readFixture(t, "anim_mux.webp"), Limits{}, nil, "", 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err, cerr error
			n := allocated(func() {
				_, _, err = Decode(bytes.NewReader(tt.data), tt.lim)
				_, cerr = ConvertToAPNG(bytes.NewReader(tt.data), io.Discard, tt.lim)
			})
			if !errors.Is(err, tt.want) || !errors.Is(cerr, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Decode error = %v, ConvertToAPNG error = %v, want %v", err, cerr, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not name %s", err, tt.detail)
			}
			if n > tt.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", n, tt.maxAlloc)
			}
		})
	}
	t.Run("Probe ignores limits", func(t *testing.T) {
		info, err := Probe(bytes.NewReader(manyFrames), int64(len(manyFrames)))
		if err != nil || info.Frames != 100_000 || info.Width != 256 {
			t.Errorf("Probe = %+v, %v", info, err)
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, name := range fixtures {
		f.Add(readFixture(f, name))
	}
	f.Add(animated(8, 8, 0, anmfChunk(0, 0, 8, 8, 0, anmfDispose, bitstream(f, "anim_mux.webp", 3))))
	f.Add(riffWebP(chunk("VP8L", vp8lHeader(4, 4))))
	// Small limits keep each run fast; ErrTooLarge is a fine outcome.
	lim := Limits{MaxWidth: 512, MaxHeight: 512, MaxFrames: 64, MaxPixels: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, info, err := Decode(bytes.NewReader(data), lim)
		pinfo, perr := Probe(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if frames != nil {
				t.Fatalf("frames returned with error %v", err)
			}
			return
		}
		if perr != nil || pinfo != info {
			t.Fatalf("Decode info %+v, Probe %+v, %v", info, pinfo, perr)
		}
		if len(frames) != info.Frames || info.Frames < 1 {
			t.Fatalf("%d frames, info %+v", len(frames), info)
		}
		for i, fr := range frames {
			b := fr.Image.Bounds()
			if b.Dx() != info.Width || b.Dy() != info.Height || len(fr.Image.Pix) != 4*b.Dx()*b.Dy() {
				t.Fatalf("frame %d bounds %v, info %+v", i, b, info)
			}
		}
		if err := writeAPNG(io.Discard, frames, info.LoopCount); err != nil {
			t.Fatalf("writeAPNG: %v", err)
		}
	})
}
