package text

import (
	"image"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Layout works in "line units": one unit is the line height (HeightPx), x=0
// is the horizontal centre of every line and y=0 is the top of the first
// line. Rendering at a size is then a plain multiplication, which keeps the
// scale-down for oversized output exact.

// rectF is a float rectangle; an empty one has x0 >= x1.
type rectF struct{ x0, y0, x1, y1 float64 }

func (r rectF) empty() bool { return !(r.x0 < r.x1 && r.y0 < r.y1) }

func (r rectF) union(o rectF) rectF {
	if o.empty() {
		return r
	}
	if r.empty() {
		return o
	}
	return rectF{min(r.x0, o.x0), min(r.y0, o.y0), max(r.x1, o.x1), max(r.y1, o.y1)}
}

// placed is one positioned glyph.
type placed struct {
	ox, oy float64 // glyph origin (pen position on the baseline), line units
	k      float64 // line units per font unit (text glyphs)
	segs   []sfnt.Segment
	ink    rectF       // ink bounds, line units (text glyphs)
	emoji  *emojiGlyph // non-nil for emoji
	eb     rectF       // bitmap rectangle, line units (emoji)
}

// layout is the positioned text.
type layout struct {
	glyphs []placed
	boxes  rectF // union of the line boxes
}

// unitsPPEM makes sfnt return metrics numerically equal to font units.
func unitsPPEM(tf *textFont) fixed.Int26_6 { return fixed.Int26_6(tf.upem) }

// newLayout positions every glyph of every line, centring the lines.
func newLayout(sg *segmenter, lines [][]glyphRef) *layout {
	lay := &layout{}
	primary := sg.chain[0]
	baseline := primary.ascent / primary.lineUnits()
	for li, refs := range lines {
		top := float64(li)
		first := len(lay.glyphs)
		pen := 0.0
		prev := glyphRef{font: emojiFontRef}
		for _, ref := range refs {
			if ref.font == emojiFontRef {
				eg := sg.emoji.glyph(ref.gid)
				if eg == nil {
					continue
				}
				ef, m := sg.emoji, eg.m
				s := 1 / ef.lineH
				b := eg.img.Bounds()
				x0, y0 := pen+float64(m.bearingX)*s, top+(ef.ascent-float64(m.bearingY))*s
				adv := float64(m.advance) * s
				if m.advance == 0 {
					adv = float64(b.Dx()) * s
				}
				lay.glyphs = append(lay.glyphs, placed{ox: pen, oy: top, emoji: eg,
					eb: rectF{x0, y0, x0 + float64(b.Dx())*s, y0 + float64(b.Dy())*s}})
				pen += adv
				prev = ref
				continue
			}
			tf, buf := sg.chain[ref.font], &sg.bufs[ref.font]
			k := 1 / tf.lineUnits()
			gid, ppem := sfnt.GlyphIndex(ref.gid), unitsPPEM(tf)
			if prev.font == ref.font {
				if kern, err := tf.f.Kern(buf, sfnt.GlyphIndex(prev.gid), gid, ppem, font.HintingNone); err == nil {
					pen += float64(kern) * k
				}
			}
			adv, err := tf.f.GlyphAdvance(buf, gid, ppem, font.HintingNone)
			if err != nil || adv < 0 {
				adv = 0
			}
			p := placed{ox: pen, oy: top + baseline, k: k}
			if segs, err := tf.f.LoadGlyph(buf, gid, ppem, nil); err == nil && len(segs) > 0 {
				p.segs = append([]sfnt.Segment(nil), segs...)
				b := segs.Bounds()
				p.ink = rectF{p.ox + float64(b.Min.X)*k, p.oy + float64(b.Min.Y)*k,
					p.ox + float64(b.Max.X)*k, p.oy + float64(b.Max.Y)*k}
			}
			lay.glyphs = append(lay.glyphs, p)
			pen += float64(adv) * k
			prev = ref
		}
		// Centre the line on x=0.
		shift := -pen / 2
		for i := first; i < len(lay.glyphs); i++ {
			g := &lay.glyphs[i]
			g.ox += shift
			g.ink.x0, g.ink.x1 = g.ink.x0+shift, g.ink.x1+shift
			g.eb.x0, g.eb.x1 = g.eb.x0+shift, g.eb.x1+shift
		}
		lay.boxes = lay.boxes.union(rectF{shift, top, shift + max(pen, 1e-9), top + 1})
	}
	return lay
}

// pixelRect is the integer pixel rectangle glyph g covers at h pixels per
// line unit. Text rectangles round outwards; emoji snap to the pixel grid.
func (g *placed) pixelRect(h float64) image.Rectangle {
	if g.emoji != nil {
		r := image.Rect(int(math.Round(g.eb.x0*h)), int(math.Round(g.eb.y0*h)),
			int(math.Round(g.eb.x1*h)), int(math.Round(g.eb.y1*h)))
		return r.Canon()
	}
	if g.ink.empty() {
		return image.Rectangle{}
	}
	return image.Rect(int(math.Floor(g.ink.x0*h)), int(math.Floor(g.ink.y0*h)),
		int(math.Ceil(g.ink.x1*h)), int(math.Ceil(g.ink.y1*h)))
}

// extent is the union of line boxes and ink in line units.
func (lay *layout) extent() rectF {
	e := lay.boxes
	for i := range lay.glyphs {
		e = e.union(lay.glyphs[i].ink).union(lay.glyphs[i].eb)
	}
	return e
}

// frame returns the canvas rectangle at h pixels per line unit with margin
// pixels around the content, plus its float size for the limit checks. The
// rectangle is only computed when the float size is sane.
func (lay *layout) frame(h, margin float64) (image.Rectangle, float64, float64) {
	e := lay.extent()
	w, ht := (e.x1-e.x0)*h+2*margin+2, (e.y1-e.y0)*h+2*margin+2
	if !(w <= 4*MaxSide && ht <= 4*MaxSide) {
		return image.Rectangle{}, w, ht
	}
	m := int(math.Ceil(margin))
	r := image.Rect(int(math.Floor(e.x0*h)), int(math.Floor(e.y0*h)), int(math.Ceil(e.x1*h)), int(math.Ceil(e.y1*h)))
	for i := range lay.glyphs {
		r = r.Union(lay.glyphs[i].pixelRect(h))
	}
	r = r.Inset(-m)
	return r, float64(r.Dx()), float64(r.Dy())
}
