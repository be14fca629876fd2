package animwebp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"testing"
	"time"
)

type apngFrame struct {
	seq        uint32
	w, h, x, y uint32
	num, den   uint16
	dispose    byte
	blend      byte
	img        *image.NRGBA
}

// readAPNG checks the chunk structure, CRCs and sequence numbers of an APNG
// and decodes each frame with image/png by rebuilding it as a plain PNG.
func readAPNG(t *testing.T, b []byte) (ihdr []byte, numFrames, numPlays uint32, frames []apngFrame) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("no PNG signature")
	}
	b = b[8:]
	var chunks [][2][]byte
	for len(b) > 0 {
		if len(b) < 12 {
			t.Fatal("truncated chunk")
		}
		n := binary.BigEndian.Uint32(b)
		typ, data := b[4:8], b[8:8+n]
		if crc32.ChecksumIEEE(b[4:8+n]) != binary.BigEndian.Uint32(b[8+n:]) {
			t.Fatalf("bad CRC in %s", typ)
		}
		chunks = append(chunks, [2][]byte{typ, data})
		b = b[12+n:]
	}
	var seq uint32
	var idat [][]byte
	flush := func() {
		if len(frames) == 0 || idat == nil {
			return
		}
		f := &frames[len(frames)-1]
		var p bytes.Buffer
		p.WriteString("\x89PNG\r\n\x1a\n")
		hdr := bytes.Clone(ihdr)
		binary.BigEndian.PutUint32(hdr, f.w)
		binary.BigEndian.PutUint32(hdr[4:], f.h)
		for _, c := range [][2][]byte{{[]byte("IHDR"), hdr}, {[]byte("IDAT"), bytes.Join(idat, nil)}, {[]byte("IEND"), nil}} {
			binary.Write(&p, binary.BigEndian, uint32(len(c[1])))
			p.Write(c[0])
			p.Write(c[1])
			binary.Write(&p, binary.BigEndian, crc32.ChecksumIEEE(append(bytes.Clone(c[0]), c[1]...)))
		}
		m, err := png.Decode(&p)
		if err != nil {
			t.Fatalf("frame %d: %v", len(frames)-1, err)
		}
		f.img = m.(*image.NRGBA)
		idat = nil
	}
	for i, c := range chunks {
		typ, d := string(c[0]), c[1]
		switch {
		case i == 0 && typ != "IHDR", i == 1 && typ != "acTL", i == len(chunks)-1 && typ != "IEND":
			t.Fatalf("chunk %d is %s", i, typ)
		}
		switch typ {
		case "IHDR":
			ihdr = d
		case "acTL":
			numFrames, numPlays = binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
		case "fcTL", "fdAT":
			if s := binary.BigEndian.Uint32(d); s != seq {
				t.Fatalf("%s sequence %d, want %d", typ, s, seq)
			}
			seq++
			if typ == "fdAT" {
				idat = append(idat, d[4:])
				continue
			}
			flush()
			be := binary.BigEndian
			frames = append(frames, apngFrame{seq: be.Uint32(d), w: be.Uint32(d[4:]), h: be.Uint32(d[8:]),
				x: be.Uint32(d[12:]), y: be.Uint32(d[16:]), num: be.Uint16(d[20:]), den: be.Uint16(d[22:]),
				dispose: d[24], blend: d[25]})
		case "IDAT":
			if len(frames) != 1 {
				t.Fatal("IDAT outside the first frame")
			}
			idat = append(idat, d)
		}
	}
	flush()
	return ihdr, numFrames, numPlays, frames
}

func TestWriteAPNG(t *testing.T) {
	mux, _, err := Decode(bytes.NewReader(readFixture(t, "anim_mux.webp")), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	opaque := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range opaque.Pix {
		opaque.Pix[i] = byte(i * 7)
		if i%4 == 3 {
			opaque.Pix[i] = 0xff
		}
	}
	transparent := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	big := image.NewNRGBA(image.Rect(-3, -3, 10, 10)) // non-zero origin sub-image
	big.Set(2, 2, color.NRGBA{1, 2, 3, 4})
	tests := []struct {
		name   string
		frames []Frame
		loops  int
	}{
		{"decoded animation", mux, 2},
		{"opaque then transparent", []Frame{{opaque, time.Second}, {transparent, 40 * time.Millisecond}, {opaque, 0}}, 0},
		{"single frame", []Frame{{transparent, 0}}, 1},
		{"sub-image", []Frame{{big.SubImage(image.Rect(1, 1, 6, 4)).(*image.NRGBA), 10 * time.Millisecond}, {opaque, time.Minute}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeAPNG(&buf, tt.frames, tt.loops); err != nil {
				t.Fatal(err)
			}
			ihdr, n, plays, got := readAPNG(t, buf.Bytes())
			size := tt.frames[0].Image.Bounds().Size()
			wantIHDR := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(size.X)), uint32(size.Y))
			wantIHDR = append(wantIHDR, 8, 6, 0, 0, 0)
			if !bytes.Equal(ihdr, wantIHDR) {
				t.Errorf("IHDR = %x, want %x", ihdr, wantIHDR)
			}
			if int(n) != len(tt.frames) || int(plays) != tt.loops || len(got) != len(tt.frames) {
				t.Fatalf("acTL = %d frames %d plays, %d fcTL; want %d, %d", n, plays, len(got), len(tt.frames), tt.loops)
			}
			for i, f := range got {
				want := tt.frames[i]
				num, den := delayFraction(want.Delay)
				if f.w != uint32(size.X) || f.h != uint32(size.Y) || f.x != 0 || f.y != 0 || f.num != num || f.den != den || f.dispose != 0 || f.blend != 0 {
					t.Errorf("frame %d fcTL = %+v", i, f)
				}
				wb := want.Image.Bounds()
				for y := 0; y < size.Y; y++ {
					for x := 0; x < size.X; x++ {
						if g, w := at(f.img, x, y), at(want.Image, wb.Min.X+x, wb.Min.Y+y); g != w {
							t.Fatalf("frame %d (%d,%d) = %v, want %v", i, x, y, g, w)
						}
					}
				}
			}
		})
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteAPNGErrors(t *testing.T) {
	a := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	b := image.NewNRGBA(image.Rect(0, 0, 4, 5))
	tests := []struct {
		name   string
		frames []Frame
		loops  int
		want   error
	}{
		{"no frames", nil, 0, nil},
		{"nil image", []Frame{{a, 0}, {nil, 0}}, 0, nil},
		{"size mismatch", []Frame{{a, 0}, {b, 0}}, 0, ErrUnsupported},
		{"empty image", []Frame{{image.NewNRGBA(image.Rectangle{}), 0}}, 0, ErrUnsupported},
		{"negative loops", []Frame{{a, 0}}, -1, ErrUnsupported},
	}
	t.Run("writer error", func(t *testing.T) {
		boom := errors.New("boom")
		if err := writeAPNG(failWriter{boom}, []Frame{{a, 0}}, 0); !errors.Is(err, boom) {
			t.Errorf("error = %v, want %v", err, boom)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := writeAPNG(io.Discard, tt.frames, tt.loops)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDelayFraction(t *testing.T) {
	tests := []struct {
		d        time.Duration
		num, den uint16
	}{
		{0, 0, 1000},
		{-time.Second, 0, 1000},
		{1400 * time.Microsecond, 1, 1000},
		{100 * time.Millisecond, 100, 1000},
		{65535 * time.Millisecond, 65535, 1000},
		{65536 * time.Millisecond, 6554, 100},
		{10 * time.Minute, 60000, 100},
		{2 * time.Hour, 7200, 1},
		{1000 * time.Hour, 65535, 1},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if num, den := delayFraction(tt.d); num != tt.num || den != tt.den {
				t.Errorf("delayFraction(%v) = %d/%d, want %d/%d", tt.d, num, den, tt.num, tt.den)
			}
		})
	}
}

// TestConvertToAPNG checks ConvertToAPNG against Decode + writeAPNG.
func TestConvertToAPNG(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			frames, info, err := Decode(bytes.NewReader(data), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			var want, got bytes.Buffer
			if err := writeAPNG(&want, frames, info.LoopCount); err != nil {
				t.Fatal(err)
			}
			cinfo, err := ConvertToAPNG(bytes.NewReader(data), &got, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if cinfo != info || !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("ConvertToAPNG differs from Decode+writeAPNG (info %+v vs %+v)", cinfo, info)
			}
		})
	}
}

// writeAPNG writes frames, all decoded up front, as an APNG to w with the
// writer ConvertToAPNG streams through, for tests that hold frames from
// Decode.
func writeAPNG(w io.Writer, frames []Frame, loops int) error {
	if len(frames) == 0 {
		return errors.New("animwebp: writeAPNG: no frames")
	}
	for i, f := range frames {
		if f.Image == nil {
			return fmt.Errorf("animwebp: writeAPNG: frame %d has no image", i)
		}
	}
	size := frames[0].Image.Bounds().Size()
	aw, err := newAPNGWriter(w, size.X, size.Y, len(frames), loops)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := aw.writeFrame(f.Image, f.Delay); err != nil {
			return err
		}
	}
	return aw.close()
}
