package text

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"unicode/utf8"
)

// Limits enforced by Render.
const (
	// MaxRunes is the most runes (newlines included) Render accepts.
	MaxRunes = 500
	// MaxSide is the largest width or height of a rendered image.
	MaxSide = 8192
	// MaxPixels is the largest area (width*height) of a rendered image.
	MaxPixels = 1 << 24
)

// Style says how to draw a text sticker.
type Style struct {
	// Font is "sans", "serif" or "mono" (see Fonts), or a filesystem path to
	// a TTF/OTF file (an uploaded font). "" means "sans".
	Font string
	// HeightPx is the height in pixels of one line, the primary font's
	// ascent+descent (hhea), so the em size is HeightPx*unitsPerEm/
	// (ascent+descent): about 0.865*HeightPx for sans and mono, 0.859 for
	// serif, with capitals about 0.6*HeightPx tall. Lines are stacked
	// HeightPx apart. Colour emoji are scaled so that the emoji font's own
	// line box is HeightPx tall (Noto: glyphs about 1.0*HeightPx high and
	// 1.06*HeightPx wide). Must be > 0.
	HeightPx float64
	// Color is the fill colour; alpha 0 draws no fill.
	Color color.NRGBA
	// StrokeColor is the outline colour, used only when StrokeWidthPx > 0.
	StrokeColor color.NRGBA
	// StrokeWidthPx is how far the outline extends outside the glyph edges,
	// in pixels; 0 means no outline. Values above HeightPx are clamped.
	StrokeWidthPx float64
	// Background is the colour of a box behind the text, which reaches
	// 0.25*HeightPx beyond the line boxes (farther if the stroke does);
	// alpha 0 means no box.
	Background color.NRGBA
}

// Render draws s (UTF-8; '\n' starts a new line, lines are centred
// horizontally) and returns a straight-alpha NRGBA image, transparent apart
// from Background, whose bounds start at (0, 0).
//
// The image spans the line boxes (HeightPx per line, as wide as the widest
// line) and any ink outside them, plus the stroke width (and 1 px for its
// antialiasing) or the background padding. When that would exceed MaxSide
// on a side or MaxPixels in area, everything (height, stroke, padding) is
// scaled down uniformly to fit; ErrTooLarge is returned only if the line
// height would drop below 1 px.
//
// Each rune is drawn with the first font that has it: Style.Font, then the
// other built-in fonts, then the colour emoji font (see DefaultEmojiFont).
// Runes whose default presentation is emoji (U+1F000 and up, and the BMP
// Emoji_Presentation set such as ⌚ ⭐ ✅) and runes followed by U+FE0F, a
// skin-tone modifier, U+20E3 or ZWJ go to the emoji font first when it has
// them; U+FE0E forces text. ZWJ, keycap, flag, tag and skin-tone sequences
// become one glyph through the emoji font's GSUB ligatures where it has
// one, otherwise their components are drawn side by side. Emoji are never
// stroked. Runes no font has, invalid UTF-8, U+FFFD, control
// characters and stray format characters are skipped (zero width), never
// drawn as boxes. Each line is trimmed of surrounding whitespace and blank
// leading/trailing lines are dropped.
//
// Errors: ErrTooLong, ErrEmpty, ErrBadStyle, ErrFontUnreadable and
// ErrTooLarge, wrapped; test with errors.Is.
func Render(s string, st Style) (img *image.NRGBA, err error) {
	if len(s) > 4*MaxRunes || utf8.RuneCountInString(s) > MaxRunes {
		return nil, fmt.Errorf("%w: more than %d runes", ErrTooLong, MaxRunes)
	}
	if !(st.HeightPx > 0) || math.IsInf(st.HeightPx, 0) {
		return nil, fmt.Errorf("%w: HeightPx %v", ErrBadStyle, st.HeightPx)
	}
	if !(st.StrokeWidthPx >= 0) || math.IsInf(st.StrokeWidthPx, 0) {
		return nil, fmt.Errorf("%w: StrokeWidthPx %v", ErrBadStyle, st.StrokeWidthPx)
	}
	lines := splitLines(s)
	if lines == nil {
		return nil, ErrEmpty
	}
	name := st.Font
	if name == "" {
		name = FontSans
	}
	chain, err := fontChain(name)
	if err != nil {
		return nil, err
	}
	if !chain[0].builtin {
		// sfnt is hardened against hostile fonts; this is a last line of
		// defence so that an uploaded font can never take the service down.
		defer func() {
			if p := recover(); p != nil {
				img, err = nil, fmt.Errorf("%w: %q: panic while rendering: %v", ErrFontUnreadable, st.Font, p)
			}
		}()
	}

	sg := newSegmenter(chain)
	refs := make([][]glyphRef, len(lines))
	for i, ln := range lines {
		refs[i] = sg.line(ln)
	}
	lay := newLayout(sg, refs)

	// Work at most at MaxSide per line, then shrink until the canvas fits.
	h := min(st.HeightPx, MaxSide)
	var canvas image.Rectangle
	for try := 0; ; try++ {
		r, fw, fh := lay.frame(h, margin(st, h))
		if !r.Empty() && fw <= MaxSide && fh <= MaxSide && fw*fh <= MaxPixels {
			canvas = r
			break
		}
		f := min(MaxSide/fw, MaxSide/fh, math.Sqrt(MaxPixels/(fw*fh)), 1) * 0.99
		if h *= f; h < 1 || try >= 10 || r.Empty() && !(fw > 0 && fh > 0) {
			return nil, fmt.Errorf("%w: %.0fx%.0f px at a line height of %g px", ErrTooLarge, fw, fh, st.HeightPx)
		}
	}

	fill := image.NewAlpha(canvas)
	rasterizeText(fill, lay, h)
	var stroke *image.Alpha
	if sw := strokeWidth(st, h); sw > 0 && st.StrokeColor.A > 0 {
		stroke = strokeMask(fill, sw)
	}
	return compose(canvas, st, fill, stroke, lay, h), nil
}

// strokeWidth is the stroke width at line height h (clamped to h).
func strokeWidth(st Style, h float64) float64 {
	return min(st.StrokeWidthPx, st.HeightPx) * h / st.HeightPx
}

// margin is the space around the content at line height h: the background
// padding or the stroke plus a pixel of antialiasing, whichever is larger.
func margin(st Style, h float64) float64 {
	m := 0.0
	if sw := strokeWidth(st, h); sw > 0 && st.StrokeColor.A > 0 {
		m = math.Ceil(sw) + 1
	}
	if st.Background.A > 0 {
		m = max(m, 0.25*h)
	}
	return m
}
