package text

import (
	"image"
	"image/color"
	"image/draw"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// rasterizeText draws the coverage of every text glyph into mask (whose
// bounds contain every glyph's pixelRect at h) with "over" compositing, so
// overlapping glyphs combine like one shape.
func rasterizeText(mask *image.Alpha, lay *layout, h float64) {
	var z vector.Rasterizer
	for i := range lay.glyphs {
		g := &lay.glyphs[i]
		if g.emoji != nil || len(g.segs) == 0 {
			continue
		}
		dr := g.pixelRect(h)
		if dr.Empty() || !dr.In(mask.Rect) {
			continue
		}
		z.Reset(dr.Dx(), dr.Dy())
		z.DrawOp = draw.Over
		sc := g.k * h // pixels per font unit
		bx, by := g.ox*h-float64(dr.Min.X), g.oy*h-float64(dr.Min.Y)
		pt := func(p fixed.Point26_6) (float32, float32) {
			return float32(bx + float64(p.X)*sc), float32(by + float64(p.Y)*sc)
		}
		for _, s := range g.segs {
			switch s.Op {
			case sfnt.SegmentOpMoveTo:
				z.ClosePath()
				z.MoveTo(pt(s.Args[0]))
			case sfnt.SegmentOpLineTo:
				z.LineTo(pt(s.Args[0]))
			case sfnt.SegmentOpQuadTo:
				x1, y1 := pt(s.Args[0])
				x2, y2 := pt(s.Args[1])
				z.QuadTo(x1, y1, x2, y2)
			case sfnt.SegmentOpCubeTo:
				x1, y1 := pt(s.Args[0])
				x2, y2 := pt(s.Args[1])
				x3, y3 := pt(s.Args[2])
				z.CubeTo(x1, y1, x2, y2, x3, y3)
			}
		}
		z.ClosePath()
		z.Draw(mask, dr, image.Opaque, image.Point{})
	}
}

// compose paints background, stroke, fill and emoji, in that order, onto a
// canvas of rectangle r and returns it as straight-alpha NRGBA whose bounds
// start at (0, 0). Compositing is done directly in straight alpha with
// 16-bit intermediates, so pixels over a transparent background keep their
// exact colour however small their alpha.
func compose(r image.Rectangle, st Style, fill, stroke *image.Alpha, lay *layout, h float64) *image.NRGBA {
	out := image.NewNRGBA(r)
	if st.Background.A > 0 {
		bg := st.Background
		for i := 0; i < len(out.Pix); i += 4 {
			out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = bg.R, bg.G, bg.B, bg.A
		}
	}
	if stroke != nil {
		overMask(out, stroke, st.StrokeColor)
	}
	if st.Color.A > 0 {
		overMask(out, fill, st.Color)
	}
	var tmp *image.RGBA
	for i := range lay.glyphs {
		g := &lay.glyphs[i]
		full := g.pixelRect(h)
		dr := full.Intersect(r)
		if g.emoji == nil || dr.Empty() {
			continue
		}
		// Scale the bitmap into a premultiplied scratch image, then blend.
		if tmp == nil || tmp.Rect.Dx() < full.Dx() || tmp.Rect.Dy() < full.Dy() {
			tmp = image.NewRGBA(image.Rect(0, 0, max(full.Dx(), 256), max(full.Dy(), 256)))
		}
		sub := tmp.SubImage(image.Rectangle{Max: full.Size()}).(*image.RGBA)
		xdraw.CatmullRom.Scale(sub, sub.Rect, g.emoji.img, g.emoji.img.Bounds(), xdraw.Src, nil)
		for y := dr.Min.Y; y < dr.Max.Y; y++ {
			for x := dr.Min.X; x < dr.Max.X; x++ {
				j := sub.PixOffset(x-full.Min.X, y-full.Min.Y)
				p := sub.Pix[j : j+4 : j+4]
				if p[3] != 0 {
					k := out.PixOffset(x, y)
					over(out.Pix[k:k+4:k+4], uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101, uint32(p[3])*0x101)
				}
			}
		}
	}
	out.Rect = image.Rect(0, 0, r.Dx(), r.Dy())
	return out
}

// overMask composites colour c with coverage mask over dst (same bounds).
func overMask(dst *image.NRGBA, mask *image.Alpha, c color.NRGBA) {
	for y := dst.Rect.Min.Y; y < dst.Rect.Max.Y; y++ {
		mrow := mask.Pix[mask.PixOffset(dst.Rect.Min.X, y):]
		drow := dst.Pix[dst.PixOffset(dst.Rect.Min.X, y):]
		for x := 0; x < dst.Rect.Dx(); x++ {
			m := uint32(mrow[x])
			if m == 0 {
				continue
			}
			d := drow[4*x : 4*x+4 : 4*x+4]
			sa := m * uint32(c.A) * 0x101 / 0xff // 0..0xffff
			if d[3] == 0 || sa == 0xffff {
				// Nothing underneath or fully covered: exact colour.
				d[0], d[1], d[2], d[3] = c.R, c.G, c.B, uint8((sa+0x80)/0x101)
				continue
			}
			over(d, uint32(c.R)*sa/0xff, uint32(c.G)*sa/0xff, uint32(c.B)*sa/0xff, sa)
		}
	}
}

// over composites a premultiplied 16-bit source pixel (r, g, b, a in
// 0..0xffff) over the straight-alpha 8-bit pixel d.
func over(d []uint8, r, g, b, a uint32) {
	da := uint32(d[3]) * 0x101
	rest := da * (0xffff - a) / 0xffff // destination alpha left visible
	oa := a + rest
	if oa == 0 {
		d[0], d[1], d[2], d[3] = 0, 0, 0, 0
		return
	}
	d[0] = uint8(min(((r+uint32(d[0])*0x101*rest/0xffff)*0xff+oa/2)/oa, 0xff))
	d[1] = uint8(min(((g+uint32(d[1])*0x101*rest/0xffff)*0xff+oa/2)/oa, 0xff))
	d[2] = uint8(min(((b+uint32(d[2])*0x101*rest/0xffff)*0xff+oa/2)/oa, 0xff))
	d[3] = uint8((oa + 0x80) / 0x101)
}
