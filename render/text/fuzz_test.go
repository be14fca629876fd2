package text

import (
	"errors"
	"image/color"
	"strings"
	"testing"
)

// FuzzRender checks that Render never panics and only fails with the
// errors its input can explain. Run with:
//
//	go test ./render/text -run '^$' -fuzz FuzzRender -fuzztime 30s
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"Hello", "a\nb\n\nc", "👋🏽 hi 👨‍👩‍👧 🇺🇸 1️⃣", "\uE000", "\xff\xfe", "  ", "",
		"Ǻ̧̊ẞ ﬁ ½ → ∑ ☺ ❤️‍🔥", "\u200d\ufe0f\U000E0067", "🏴\U000E0067\U000E0062\U000E007F",
		strings.Repeat("W", 60), "\t\r\n\x00x", "אבג عربي 中文 हिन्दी",
	} {
		f.Add(s, uint8(24), uint8(3), uint8(0), false)
	}
	f.Add("x", uint8(0), uint8(255), uint8(2), true)
	f.Fuzz(func(t *testing.T, s string, height, stroke, font uint8, bg bool) {
		st := Style{
			Font:          builtinNames[int(font)%len(builtinNames)],
			HeightPx:      1 + float64(height%64),
			Color:         color.NRGBA{255, 255, 255, 255},
			StrokeColor:   color.NRGBA{0, 0, 0, 255},
			StrokeWidthPx: float64(stroke%16) / 2,
		}
		if bg {
			st.Background = color.NRGBA{0, 0, 128, 128}
		}
		img, err := Render(s, st)
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrTooLong) {
				t.Fatalf("Render(%q): unexpected error %v", s, err)
			}
			return
		}
		w, h := img.Rect.Dx(), img.Rect.Dy()
		if img.Rect.Min.X != 0 || img.Rect.Min.Y != 0 || w < 1 || h < 1 || w > MaxSide || h > MaxSide || len(img.Pix) != 4*w*h {
			t.Fatalf("Render(%q): bad image %v", s, img.Rect)
		}
	})
}

// FuzzEmojiFont feeds arbitrary bytes to the CBDT/CBLC/cmap/GSUB parsers.
func FuzzEmojiFont(f *testing.F) {
	for _, fm := range [][2]int{{1, 17}, {3, 18}, {4, 17}, {2, 19}, {5, 19}} {
		f.Add(buildCBDTFont(f, fm[0], fm[1]))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		exerciseEmojiFont(data)
	})
}

func BenchmarkRender(b *testing.B) {
	for _, bc := range []struct {
		name string
		s    string
		st   Style
	}{
		{"20chars_72px", "Twenty chars of text", Style{HeightPx: 72, Color: white}},
		{"20chars_72px_stroke", "Twenty chars of text", Style{HeightPx: 72, Color: white, StrokeColor: black, StrokeWidthPx: 4}},
		{"20chars_72px_emoji", "Hi 👋🏽 party 🎉 time!", Style{HeightPx: 72, Color: white, StrokeColor: black, StrokeWidthPx: 4}},
		{"480chars_200px_stroke", strings.TrimSuffix(strings.Repeat("ABCDEFGHIJKLMNOPQRST\n", 23), "\n"),
			Style{HeightPx: 200, Color: white, StrokeColor: black, StrokeWidthPx: 20}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(bc.s, bc.st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
