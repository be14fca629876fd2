package animwebp

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// fixtures lists every WebP file in testdata.
var fixtures = []string{
	"anim_lossless.webp", "anim_lossy.webp", "anim_mux.webp",
	"still_lossy.webp", "still_lossless.webp", "still_alpha.webp",
	"gradient_lossy.webp", "gradient_lossless.webp",
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readPNG(t testing.TB, name string) *image.NRGBA {
	t.Helper()
	m, err := png.Decode(bytes.NewReader(readFixture(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	n, ok := m.(*image.NRGBA)
	if !ok {
		t.Fatalf("%s decoded as %T, want *image.NRGBA", name, m)
	}
	return n
}

// bitstream returns the sub-chunks (ALPH? + VP8/VP8L, as complete chunks)
// of frame i of a fixture, for building synthetic files.
func bitstream(t testing.TB, name string, i int) []byte {
	t.Helper()
	data := readFixture(t, name)
	c, err := parse(bytes.NewReader(data), int64(len(data)), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	f := c.frames[i]
	var out []byte
	if f.alph.len > 0 {
		out = chunk("ALPH", slice(data, f.alph))
	}
	id := "VP8 "
	if f.lossless {
		id = "VP8L"
	}
	return append(out, chunk(id, slice(data, f.bits))...)
}

// chunk builds a RIFF chunk from the concatenated parts, padded to even.
func chunk(id string, parts ...[]byte) []byte {
	p := bytes.Join(parts, nil)
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(p)))...)
	b = append(b, p...)
	if len(p)&1 == 1 {
		b = append(b, 0)
	}
	return b
}

func riffWebP(chunks ...[]byte) []byte {
	body := bytes.Join(chunks, nil)
	b := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	return append(append(b, "WEBP"...), body...)
}

func u24(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16)} }

func vp8xChunk(flags byte, w, h int) []byte {
	return chunk("VP8X", []byte{flags, 0, 0, 0}, u24(w-1), u24(h-1))
}

func animChunk(bg color.NRGBA, loops int) []byte {
	return chunk("ANIM", []byte{bg.B, bg.G, bg.R, bg.A, byte(loops), byte(loops >> 8)})
}

// anmfChunk builds an ANMF chunk; x and y must be even.
func anmfChunk(x, y, w, h, ms int, flags byte, sub ...[]byte) []byte {
	hdr := bytes.Join([][]byte{u24(x / 2), u24(y / 2), u24(w - 1), u24(h - 1), u24(ms), {flags}}, nil)
	return chunk("ANMF", append([][]byte{hdr}, sub...)...)
}

// animated builds an animated WebP with a w x h canvas.
func animated(w, h, loops int, frames ...[]byte) []byte {
	return riffWebP(append([][]byte{vp8xChunk(flagAnimation|1<<4, w, h), animChunk(color.NRGBA{}, loops)}, frames...)...)
}

// vp8lHeader is a VP8L payload holding only a header declaring w x h.
func vp8lHeader(w, h int) []byte {
	v := uint32(w-1) | uint32(h-1)<<14
	return append([]byte{0x2f}, binary.LittleEndian.AppendUint32(nil, v)...)
}

// near reports whether a and b differ by at most tol in every channel.
func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}

func at(m *image.NRGBA, x, y int) color.NRGBA { return m.NRGBAAt(x, y) }
