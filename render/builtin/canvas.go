package builtin

import (
	"image"
	"image/draw"
	"math"

	"golang.org/x/image/vector"
)

// col is a straight (non-premultiplied) colour with components in [0, 1].
type col struct{ r, g, b, a float64 }

// hex turns 0xRRGGBB into an opaque col.
func hex(v uint32) col {
	return col{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255, 1}
}

// alpha returns c with its opacity multiplied by a.
func (c col) alpha(a float64) col { c.a *= a; return c }

func mix(a, b col, t float64) col {
	t = math.Max(0, math.Min(1, t))
	return col{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t, a.a + (b.a-a.a)*t}
}

// paint gives the colour of a fill at a point.
type paint interface{ at(x, y float64) col }

type solid col

func (s solid) at(x, y float64) col { return col(s) }

// linear blends c0 at (x0,y0) into c1 at (x1,y1).
type linear struct {
	x0, y0, x1, y1 float64
	c0, c1         col
}

func (l linear) at(x, y float64) col {
	dx, dy := l.x1-l.x0, l.y1-l.y0
	return mix(l.c0, l.c1, ((x-l.x0)*dx+(y-l.y0)*dy)/(dx*dx+dy*dy))
}

// radial blends c0 at (cx,cy) into c1 at distance r.
type radial struct {
	cx, cy, r float64
	c0, c1    col
}

func (g radial) at(x, y float64) col {
	return mix(g.c0, g.c1, math.Hypot(x-g.cx, y-g.cy)/g.r)
}

// canvas accumulates premultiplied float RGBA so that many overlapping fills
// keep their precision; image converts it to 8-bit NRGBA at the end.
type canvas struct {
	w, h int
	pix  []float64
	z    *vector.Rasterizer
	mask *image.Alpha
}

func newCanvas(w, h int) *canvas {
	return &canvas{
		w: w, h: h,
		pix:  make([]float64, 4*w*h),
		z:    vector.NewRasterizer(w, h),
		mask: image.NewAlpha(image.Rect(0, 0, w, h)),
	}
}

func (c *canvas) clear() { clear(c.pix) }

// fill composites p over the canvas wherever s covers it (antialiased).
func (c *canvas) fill(s shape, p paint) {
	c.z.Reset(c.w, c.h)
	c.z.DrawOp = draw.Src
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, q := range s {
		if len(q) < 3 {
			continue
		}
		c.z.MoveTo(float32(q[0].x), float32(q[0].y))
		for _, v := range q[1:] {
			c.z.LineTo(float32(v.x), float32(v.y))
		}
		c.z.ClosePath()
		for _, v := range q {
			x0, y0 = math.Min(x0, v.x), math.Min(y0, v.y)
			x1, y1 = math.Max(x1, v.x), math.Max(y1, v.y)
		}
	}
	if x0 > x1 {
		return
	}
	c.z.Draw(c.mask, c.mask.Bounds(), image.Opaque, image.Point{})
	bx0, by0 := max(int(math.Floor(x0)), 0), max(int(math.Floor(y0)), 0)
	bx1, by1 := min(int(math.Ceil(x1))+1, c.w), min(int(math.Ceil(y1))+1, c.h)
	for y := by0; y < by1; y++ {
		for x := bx0; x < bx1; x++ {
			m := c.mask.Pix[y*c.mask.Stride+x]
			if m == 0 {
				continue
			}
			k := p.at(float64(x)+0.5, float64(y)+0.5)
			a := k.a * float64(m) / 255
			if a <= 0 {
				continue
			}
			px := c.pix[4*(y*c.w+x):][:4]
			px[0] = k.r*a + px[0]*(1-a)
			px[1] = k.g*a + px[1]*(1-a)
			px[2] = k.b*a + px[2]*(1-a)
			px[3] = a + px[3]*(1-a)
		}
	}
}

// fillc fills s with a flat colour.
func (c *canvas) fillc(s shape, k col) { c.fill(s, solid(k)) }

// image returns the canvas as straight-alpha 8-bit NRGBA.
func (c *canvas) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, c.w, c.h))
	for i := 0; i < len(c.pix); i += 4 {
		a := c.pix[i+3]
		if a <= 0 {
			continue
		}
		img.Pix[i+0] = to8(c.pix[i+0] / a)
		img.Pix[i+1] = to8(c.pix[i+1] / a)
		img.Pix[i+2] = to8(c.pix[i+2] / a)
		img.Pix[i+3] = to8(a)
	}
	return img
}

func to8(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v*255))))
}

// badge fills s with p in sticker style: corners rounded by r and the whole
// outline ringed by a line of width lw in colour line (lw 0 for none).
func (c *canvas) badge(s shape, r, lw float64, p paint, line col) {
	var edge, body shape
	for _, q := range s {
		if lw > 0 {
			edge = append(edge, stroke(q, 2*(r+lw), true)...)
		}
		if r > 0 {
			body = append(body, stroke(q, 2*r, true)...)
		}
	}
	if lw > 0 {
		c.fillc(append(edge, s...), line)
	}
	c.fill(append(body, s...), p)
}
