package text

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/font/gofont/goregular"
)

var (
	white = color.NRGBA{255, 255, 255, 255}
	black = color.NRGBA{0, 0, 0, 255}
	red   = color.NRGBA{255, 0, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
	green = color.NRGBA{0, 160, 0, 255}
)

// render calls Render and fails the test on error.
func render(t testing.TB, s string, st Style) *image.NRGBA {
	t.Helper()
	img, err := Render(s, st)
	if err != nil {
		t.Fatalf("Render(%q): %v", s, err)
	}
	if img.Rect.Min != (image.Point{}) {
		t.Fatalf("Render(%q): bounds %v do not start at the origin", s, img.Rect)
	}
	return img
}

// inkBounds is the bounding box of the pixels that match.
func inkBounds(img *image.NRGBA, match func(color.NRGBA) bool) image.Rectangle {
	var r image.Rectangle
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if match(img.NRGBAAt(x, y)) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// count is the number of pixels that match.
func count(img *image.NRGBA, match func(color.NRGBA) bool) int {
	n := 0
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if match(img.NRGBAAt(x, y)) {
				n++
			}
		}
	}
	return n
}

func visible(c color.NRGBA) bool { return c.A > 0 }

func is(want color.NRGBA) func(color.NRGBA) bool {
	return func(c color.NRGBA) bool { return c == want }
}

func TestRender_TextHasInkOfRoughlyHeightPx(t *testing.T) {
	for _, font := range builtinNames {
		for _, h := range []float64{12, 48, 120} {
			t.Run(font+"/"+ftoa(h), func(t *testing.T) {
				img := render(t, "Hxgj", Style{Font: font, HeightPx: h, Color: white})
				if got := img.Rect.Dy(); got < int(h) || got > int(h)+2 {
					t.Errorf("image height %d, want about %v", got, h)
				}
				ink := inkBounds(img, visible)
				// Cap height to descender depth covers well over half a line.
				if ink.Empty() || float64(ink.Dy()) < 0.6*h || float64(ink.Dy()) > h+2 {
					t.Errorf("ink bounds %v for HeightPx %v", ink, h)
				}
			})
		}
	}
}

func TestRender_FillColourAppears(t *testing.T) {
	for _, c := range []color.NRGBA{white, red, green, {10, 20, 30, 255}} {
		t.Run(rgbName(c), func(t *testing.T) {
			img := render(t, "Fill", Style{HeightPx: 64, Color: c})
			if n := count(img, is(c)); n < 200 {
				t.Errorf("only %d pixels of exactly %v", n, c)
			}
			if n := count(img, func(p color.NRGBA) bool { return p.A > 0 && (p.R != c.R || p.G != c.G || p.B != c.B) }); n != 0 {
				t.Errorf("%d visible pixels are not the fill colour (straight alpha broken?)", n)
			}
		})
	}
}

func TestRender_StraightAlpha(t *testing.T) {
	half := color.NRGBA{200, 100, 50, 128}
	img := render(t, "Ab", Style{HeightPx: 64, Color: half})
	if n := count(img, is(half)); n < 100 {
		t.Errorf("only %d interior pixels equal %v; want straight (non-premultiplied) alpha", n, half)
	}
}

func TestRender_StrokeSurroundsFill(t *testing.T) {
	for _, sw := range []float64{1, 3, 8} {
		t.Run(ftoa(sw), func(t *testing.T) {
			img := render(t, "O", Style{HeightPx: 100, Color: white, StrokeColor: blue, StrokeWidthPx: sw})
			isStroke := func(c color.NRGBA) bool { return c.A >= 128 && c.B > 200 && c.R < 60 && c.G < 60 }
			fill, stroke := inkBounds(img, is(white)), inkBounds(img, isStroke)
			if fill.Empty() || stroke.Empty() {
				t.Fatalf("fill %v stroke %v: want both colours", fill, stroke)
			}
			if grow := int(sw) - 1; !fill.Inset(-grow).In(stroke) {
				t.Errorf("stroke %v does not surround fill %v by ~%v px", stroke, fill, sw)
			}
			if outer := stroke.Inset(-1); !outer.In(img.Rect) {
				t.Errorf("stroke %v touches the image edge %v", stroke, img.Rect)
			}
			// Walking left from the first fully filled pixel of the middle
			// row: solid stroke just outside the glyph, nothing beyond it.
			mid := (fill.Min.Y + fill.Max.Y) / 2
			x := fill.Min.X
			for x < fill.Max.X && img.NRGBAAt(x, mid) != white {
				x++
			}
			if c := img.NRGBAAt(x-2, mid); sw >= 3 && c != blue {
				t.Errorf("pixel 2 px left of the fill is %v, want stroke %v", c, blue)
			}
			if c := img.NRGBAAt(x-int(sw)-3, mid); c.A != 0 {
				t.Errorf("pixel %d px left of the fill is %v, want transparent", int(sw)+3, c)
			}
		})
	}
}

func TestRender_StrokeWithoutColourIsIgnored(t *testing.T) {
	plain := render(t, "Ab", Style{HeightPx: 40, Color: white})
	noColour := render(t, "Ab", Style{HeightPx: 40, Color: white, StrokeWidthPx: 5})
	if !bytes.Equal(plain.Pix, noColour.Pix) || plain.Rect != noColour.Rect {
		t.Error("a stroke with transparent StrokeColor changed the image")
	}
}

func TestRender_BackgroundBox(t *testing.T) {
	bg := color.NRGBA{20, 40, 60, 200}
	plain := render(t, "Box", Style{HeightPx: 40, Color: white})
	boxed := render(t, "Box", Style{HeightPx: 40, Color: white, Background: bg})
	for _, p := range []image.Point{{0, 0}, {boxed.Rect.Dx() - 1, 0}, {0, boxed.Rect.Dy() - 1}, {boxed.Rect.Dx() - 1, boxed.Rect.Dy() - 1}} {
		if c := boxed.NRGBAAt(p.X, p.Y); c != bg {
			t.Errorf("corner %v is %v, want background %v", p, c, bg)
		}
	}
	if dw, dh := boxed.Rect.Dx()-plain.Rect.Dx(), boxed.Rect.Dy()-plain.Rect.Dy(); dw < 18 || dh < 18 || dw > 24 || dh > 24 {
		t.Errorf("background grew the image by %dx%d, want about 2*0.25*40 = 20", dw, dh)
	}
	if n := count(boxed, is(white)); n < 100 {
		t.Errorf("fill missing on top of the background: %d pixels", n)
	}
	if n := count(plain, func(c color.NRGBA) bool { return c.A == 0 }); n == 0 {
		t.Error("image without Background has no transparent pixels")
	}
}

func TestRender_MultiLineIsTaller(t *testing.T) {
	st := Style{HeightPx: 50, Color: white}
	one := render(t, "one", st)
	for _, tc := range []struct {
		name  string
		s     string
		lines int
	}{
		{"two", "one\ntwo", 2},
		{"three", "a\nb\nc", 3},
		{"blank middle line kept", "a\n\nc", 3},
		{"crlf", "one\r\ntwo", 2},
		{"outer blank lines dropped", "\n\none\n\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := render(t, tc.s, st)
			want := tc.lines * one.Rect.Dy()
			if got := img.Rect.Dy(); got < want-2 || got > want+2 {
				t.Errorf("height %d, want about %d (%d lines of %d)", got, want, tc.lines, one.Rect.Dy())
			}
		})
	}
}

func TestRender_LinesAreCentred(t *testing.T) {
	img := render(t, "WWWWWWWW\nii", Style{HeightPx: 40, Color: white})
	second := img.SubImage(image.Rect(0, 40, img.Rect.Dx(), 80)).(*image.NRGBA)
	ink := inkBounds(second, visible)
	left, right := ink.Min.X, img.Rect.Dx()-ink.Max.X
	if d := left - right; d < -3 || d > 3 {
		t.Errorf("second line ink %v in width %d: margins %d/%d, want centred", ink, img.Rect.Dx(), left, right)
	}
}

func TestRender_BuiltinFontsDiffer(t *testing.T) {
	imgs := map[string]*image.NRGBA{}
	for _, font := range builtinNames {
		t.Run(font, func(t *testing.T) {
			imgs[font] = render(t, "Handgloves 123", Style{Font: font, HeightPx: 48, Color: white})
			if n := count(imgs[font], visible); n < 500 {
				t.Errorf("only %d visible pixels", n)
			}
		})
	}
	names := builtinNames[:]
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			a, b := imgs[names[i]], imgs[names[j]]
			if a != nil && b != nil && a.Rect == b.Rect && bytes.Equal(a.Pix, b.Pix) {
				t.Errorf("fonts %s and %s render identically", names[i], names[j])
			}
		}
	}
	if got := len(builtinNames); got != 3 {
		t.Errorf("built-in fonts %v, want sans, serif, mono", builtinNames)
	}
}

func TestRender_UploadedFontMatchesBuiltin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "go.ttf")
	if err := os.WriteFile(path, goregular.TTF, 0o600); err != nil {
		t.Fatal(err)
	}
	st := Style{HeightPx: 36, Color: red, StrokeColor: black, StrokeWidthPx: 2}
	want := render(t, "Uploaded", st)
	st.Font = path
	got := render(t, "Uploaded", st)
	if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
		t.Error("uploaded copy of Go Regular renders differently from \"sans\"")
	}
}

func TestRender_SkippedRunesTakeNoSpace(t *testing.T) {
	st := Style{HeightPx: 40, Color: white}
	want := render(t, "ab", st)
	for _, tc := range []struct{ name, s string }{
		{"private use", "a\uE000b"},
		{"supplementary private use", "a\U000F0000b"},
		{"control chars", "a\x00\x07\x1b\tb"},
		{"invalid utf8", "a\xff\xfeb"},
		{"replacement char", "a\uFFFDb"},
		{"stray joiner and selector", "a\u200d\ufe0fb"},
		{"unassigned", "a\U0003FFFDb"},
		{"surrounding spaces", "  ab \t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.s, st)
			if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
				t.Errorf("%q renders differently from \"ab\" (%v vs %v)", tc.s, got.Rect, want.Rect)
			}
		})
	}
}

func TestRender_UnknownRunesAreInvisible(t *testing.T) {
	for _, s := range []string{"\uE000", "\uE000\uE001\uF8FF", "\U0010FFFD", "\U0003FFFD"} {
		t.Run(s, func(t *testing.T) {
			img := render(t, s, Style{HeightPx: 40, Color: white, StrokeColor: black, StrokeWidthPx: 3})
			if n := count(img, visible); n != 0 {
				t.Errorf("%d visible pixels for %q, want none", n, s)
			}
		})
	}
}

func ftoa(f float64) string { return fmt.Sprint(f) }

func rgbName(c color.NRGBA) string { return fmt.Sprintf("%d,%d,%d,%d", c.R, c.G, c.B, c.A) }
