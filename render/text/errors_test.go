package text

import (
	"errors"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestRender_Errors(t *testing.T) {
	dir := t.TempDir()
	notFont := filepath.Join(dir, "notes.ttf")
	if err := os.WriteFile(notFont, []byte("this is plain text, not a TrueType font at all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.ttf")
	if err := os.WriteFile(truncated, dejaVuSerifTTF[:4096], 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Style{HeightPx: 32, Color: white}
	with := func(f func(*Style)) Style { st := ok; f(&st); return st }
	for _, tc := range []struct {
		name string
		s    string
		st   Style
		want error
	}{
		{"empty", "", ok, ErrEmpty},
		{"spaces", "  \t \u3000 ", ok, ErrEmpty},
		{"newlines", "\n\r\n\n", ok, ErrEmpty},
		{"controls and joiners", "\x00\u200d\ufe0f\x7f", ok, ErrEmpty},
		{"501 runes", strings.Repeat("a", 501), ok, ErrTooLong},
		{"501 multibyte runes", strings.Repeat("é", 501), ok, ErrTooLong},
		{"huge string", strings.Repeat("ab", 1<<20), ok, ErrTooLong},
		{"non-font file", "hi", with(func(s *Style) { s.Font = notFont }), ErrFontUnreadable},
		{"truncated font", "hi", with(func(s *Style) { s.Font = truncated }), ErrFontUnreadable},
		{"missing file", "hi", with(func(s *Style) { s.Font = filepath.Join(dir, "nope.ttf") }), ErrFontUnreadable},
		{"directory", "hi", with(func(s *Style) { s.Font = dir }), ErrFontUnreadable},
		{"unknown name", "hi", with(func(s *Style) { s.Font = "comic" }), ErrFontUnreadable},
		{"zero height", "hi", with(func(s *Style) { s.HeightPx = 0 }), ErrBadStyle},
		{"negative height", "hi", with(func(s *Style) { s.HeightPx = -5 }), ErrBadStyle},
		{"NaN height", "hi", with(func(s *Style) { s.HeightPx = math.NaN() }), ErrBadStyle},
		{"infinite height", "hi", with(func(s *Style) { s.HeightPx = math.Inf(1) }), ErrBadStyle},
		{"negative stroke", "hi", with(func(s *Style) { s.StrokeWidthPx = -1 }), ErrBadStyle},
		{"NaN stroke", "hi", with(func(s *Style) { s.StrokeWidthPx = math.NaN() }), ErrBadStyle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Render(tc.s, tc.st)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Render error = %v, want %v", err, tc.want)
			}
			if img != nil {
				t.Errorf("got an image along with error %v", err)
			}
		})
	}
}

func TestRender_Limits(t *testing.T) {
	lines := strings.TrimSuffix(strings.Repeat(strings.Repeat("W", 20)+"\n", 23), "\n")
	for _, tc := range []struct {
		name string
		s    string
		st   Style
	}{
		{"500 runes accepted", strings.Repeat("a", MaxRunes), Style{HeightPx: 12, Color: white}},
		{"wide line scaled down", strings.Repeat("W", 400), Style{HeightPx: 300, Color: white}},
		{"huge height scaled down", "Hi", Style{HeightPx: 1e9, Color: white, StrokeWidthPx: 1e9, StrokeColor: black}},
		{"area cap", lines, Style{HeightPx: 400, Color: white, Background: blue}},
		{"huge stroke clamped", "Hi", Style{HeightPx: 50, Color: white, StrokeColor: black, StrokeWidthPx: 1e6}},
		{"tiny height", "Hi", Style{HeightPx: 0.01, Color: white}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := render(t, tc.s, tc.st)
			w, h := img.Rect.Dx(), img.Rect.Dy()
			if w < 1 || h < 1 || w > MaxSide || h > MaxSide || w*h > MaxPixels {
				t.Errorf("image %dx%d outside the limits", w, h)
			}
			if tc.st.HeightPx >= 1 && count(img, visible) == 0 {
				t.Error("nothing visible")
			}
		})
	}
}

func TestRender_ConcurrentCallsAgree(t *testing.T) {
	st := Style{HeightPx: 40, Color: red, StrokeColor: black, StrokeWidthPx: 2}
	want := render(t, "Concurrent 👋 ☺", st)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img, err := Render("Concurrent 👋 ☺", st)
			if err != nil || img.Rect != want.Rect || string(img.Pix) != string(want.Pix) {
				errs <- "concurrent render differs"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// colourful reports a saturated, mostly opaque pixel, which text in grey
// or a single fill colour cannot produce alongside other hues.
func colourful(c color.NRGBA) bool {
	hi := max(c.R, c.G, c.B)
	lo := min(c.R, c.G, c.B)
	return c.A > 200 && hi-lo > 40
}
