package text

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// needEmoji skips the test when no colour emoji font is installed.
func needEmoji(t *testing.T) {
	t.Helper()
	if loadEmojiFont() == nil {
		t.Skipf("no colour emoji font at %s (install fonts-noto-color-emoji or set %s)", DefaultEmojiFont, EmojiFontEnv)
	}
}

func TestRender_EmojiInColour(t *testing.T) {
	needEmoji(t)
	grey := color.NRGBA{128, 128, 128, 255}
	const h = 64.0
	for _, tc := range []struct {
		name, s string
		glyphs  int // glyphs wide
	}{
		{"waving hand", "👋", 1},
		{"skin tone sequence", "👋🏽", 1},
		{"ZWJ astronaut", "👩‍🚀", 1},
		{"ZWJ family", "👨‍👩‍👧", 1}, // Noto draws it as a black and white pictogram
		{"ZWJ with VS16", "❤️‍🔥", 1},
		{"flag", "🇺🇸", 1},
		{"keycap", "1️⃣", 1},
		{"text-default heart with VS16", "❤️", 1},
		{"tag sequence", "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", 1},
		{"two emoji", "🎉🚀", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := render(t, tc.s, Style{HeightPx: h, Color: grey, StrokeColor: grey, StrokeWidthPx: 2})
			if n := count(img, colourful); n < 200*tc.glyphs && tc.name != "ZWJ family" {
				t.Errorf("only %d colourful pixels in %q", n, tc.s)
			}
			if n := count(img, visible); n < 1000*tc.glyphs {
				t.Errorf("only %d visible pixels in %q", n, tc.s)
			}
			// Sequences must collapse to one glyph, not their components.
			if w := img.Rect.Dx(); w > int(1.3*h*float64(tc.glyphs))+8 {
				t.Errorf("%q is %d px wide, want about %d glyph(s) of %v px", tc.s, w, tc.glyphs, h)
			}
		})
	}
}

func TestRender_EmojiSitsInTheLine(t *testing.T) {
	needEmoji(t)
	img := render(t, "H👋", Style{HeightPx: 100, Color: white})
	ink := inkBounds(img, colourful)
	if ink.Min.Y < 0 || ink.Max.Y > 101 || ink.Dy() < 80 {
		t.Errorf("emoji ink %v in a 100 px line", ink)
	}
}

func TestRender_EmojiFontMissingSkipsEmoji(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"missing", filepath.Join(t.TempDir(), "none.ttf")},
		{"not a font", writeTemp(t, "junk.ttf", []byte("not a font, just some bytes"))},
		{"outline font", writeTemp(t, "serif.ttf", dejaVuSerifTTF)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EmojiFontEnv, tc.path)
			st := Style{HeightPx: 40, Color: white}
			want := render(t, "ab", st)
			got := render(t, "a👋🏽b", st)
			if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
				t.Errorf("emoji without an emoji font changed the image: %v vs %v", got.Rect, want.Rect)
			}
		})
	}
}

// The synthetic fonts cover the CBLC index formats and CBDT image formats
// that Noto Color Emoji does not use.
func TestEmojiFont_IndexAndImageFormats(t *testing.T) {
	for _, f := range [][2]int{{1, 17}, {1, 18}, {3, 17}, {4, 18}, {2, 19}, {5, 19}} {
		t.Run(ftoa(float64(f[0]))+"/"+ftoa(float64(f[1])), func(t *testing.T) {
			data := buildCBDTFont(t, f[0], f[1])
			ef, err := parseEmojiFont(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []rune{0x1F600, 0x1F601} {
				eg := ef.glyph(ef.cmap.glyph(r))
				if eg == nil || eg.img.Bounds().Dx() != 8 || eg.m.advance != 8 {
					t.Fatalf("glyph for %U: %+v", r, eg)
				}
			}
			t.Setenv(EmojiFontEnv, writeTemp(t, "emoji.ttf", data))
			img := render(t, "😀", Style{HeightPx: 32, Color: white})
			if n := count(img, func(c color.NRGBA) bool { return c.R > 200 && c.G < 50 && c.A > 200 }); n < 300 {
				t.Errorf("synthetic red emoji: %d red pixels", n)
			}
		})
	}
}

func TestEmojiFont_CorruptNeverPanics(t *testing.T) {
	seeds := [][]byte{buildCBDTFont(t, 1, 17), buildCBDTFont(t, 5, 19)}
	if real, err := os.ReadFile(DefaultEmojiFont); err == nil {
		seeds = append(seeds, real)
	}
	rng := rand.New(rand.NewSource(1))
	for _, seed := range seeds {
		for i := 0; i < 40; i++ {
			data := bytes.Clone(seed)
			if i%3 == 0 {
				data = data[:rng.Intn(len(data))]
			} else {
				// Scribble over the header, cmap and the CBLC index.
				for k := 0; k < 50; k++ {
					data[rng.Intn(min(len(data), 1<<16))] = byte(rng.Intn(256))
				}
				if off, n := tableSpan(seed, "CBLC"); n > 0 {
					for k := 0; k < 20; k++ {
						data[off+rng.Intn(n)] = byte(rng.Intn(256))
					}
				}
			}
			exerciseEmojiFont(data)
		}
	}
}

// tableSpan returns the offset and length of a table in an SFNT file.
func tableSpan(data []byte, tag string) (int, int) {
	r := &rd{b: data}
	for i := 0; i < r.u16(4) && !r.bad; i++ {
		rec := 12 + 16*i
		if string(r.sub(rec, 4)) == tag {
			off, n := r.u32(rec+8), r.u32(rec+12)
			if r.sub(off, n) != nil {
				return off, n
			}
		}
	}
	return 0, 0
}

// exerciseEmojiFont parses data as an emoji font and looks glyphs up,
// shapes a few sequences and decodes bitmaps; it must never panic.
func exerciseEmojiFont(data []byte) {
	ef, err := parseEmojiFont(data)
	if err != nil {
		return
	}
	sg := &segmenter{emoji: ef, emojiLoaded: true}
	for _, s := range []string{"😀", "👋🏽", "👨‍👩‍👧", "🇺🇸", "1️⃣"} {
		sg.emojiCluster([]rune(s))
	}
	for gid := 0; gid < 8; gid++ {
		ef.glyph(gid)
	}
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildCBDTFont assembles a minimal colour bitmap font: glyphs 1 and 2 for
// U+1F600 and U+1F601, each an 8x8 red PNG at 8 ppem, indexed with the
// given CBLC index format and CBDT image format.
func buildCBDTFont(t testing.TB, indexFormat, imageFormat int) []byte {
	var pb bytes.Buffer
	sq := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < len(sq.Pix); i += 4 {
		sq.Pix[i], sq.Pix[i+3] = 255, 255
	}
	if err := png.Encode(&pb, sq); err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	u16 := func(b []byte, v int) []byte { return be.AppendUint16(b, uint16(v)) }
	u32 := func(b []byte, v int) []byte { return be.AppendUint32(b, uint32(v)) }
	metrics := []byte{8, 8, 0, 7, 8, 0, 0, 8} // h, w, bx, by, adv, vert...

	var rec []byte
	switch imageFormat {
	case 17:
		rec = append(rec, metrics[:5]...)
	case 18:
		rec = append(rec, metrics...)
	}
	rec = append(u32(rec, pb.Len()), pb.Bytes()...)
	cbdt := append(u32(nil, 0x00030000), rec...)
	cbdt = append(cbdt, rec...)
	n := len(rec)

	sub := u32(u16(u16(nil, indexFormat), imageFormat), 4)
	switch indexFormat {
	case 1:
		sub = u32(u32(u32(sub, 0), n), 2*n)
	case 3:
		sub = u16(u16(u16(sub, 0), n), 2*n)
	case 2:
		sub = append(u32(sub, n), metrics...)
	case 4:
		sub = u32(sub, 2)
		sub = u16(u16(u16(u16(u16(u16(sub, 1), 0), 2), n), 0), 2*n)
	case 5:
		sub = u16(u16(u32(append(u32(sub, n), metrics...), 2), 1), 2)
	}
	cblc := u32(u16(u16(nil, 3), 0), 1)
	size := u32(u32(u32(u32(nil, 56), 8+len(sub)), 1), 0)
	size = append(size, 7, 0xFF, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0) // hori
	size = append(size, make([]byte, 12)...)                   // vert
	size = append(u16(u16(size, 1), 2), 8, 8, 32, 1)
	cblc = append(append(cblc, size...), u32(u16(u16(nil, 1), 2), 8)...)
	cblc = append(cblc, sub...)

	cmap := u32(u16(u16(u16(u16(nil, 0), 1), 3), 10), 12)
	cmap = u32(u32(u32(u32(u16(u16(cmap, 12), 0), 28), 0), 1), 0x1F600)
	cmap = u32(u32(cmap, 0x1F601), 1)
	head := u16(make([]byte, 18), 64)
	head = append(head, make([]byte, 54-len(head))...)
	hhea := u16(u16(u32(nil, 0x00010000), 56), -8&0xFFFF)
	hhea = append(hhea, make([]byte, 36-len(hhea))...)

	tables := []struct {
		tag  string
		data []byte
	}{{"CBDT", cbdt}, {"CBLC", cblc}, {"cmap", cmap}, {"head", head}, {"hhea", hhea}}
	out := u16(u32(nil, 0x00010000), len(tables))
	out = append(out, make([]byte, 6)...)
	off := len(out) + 16*len(tables)
	var body []byte
	for _, tb := range tables {
		out = u32(u32(u32(append(out, tb.tag...), 0), off+len(body)), len(tb.data))
		body = append(body, tb.data...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	return append(out, body...)
}
