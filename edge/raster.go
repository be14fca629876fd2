package edge

import (
	"image"
	"math"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"

	"github.com/stickerd/stickerd/internal/vpx"
)

// maxRasterPixels bounds one prepared sticker (the part that could cover
// a 4K frame); a larger one is drawn smaller rather than eat memory.
const maxRasterPixels = 8 << 20

// yuva is a sticker prepared for one size and rotation: full-resolution
// Y and alpha planes and half-resolution U, V and chroma alpha, so that it
// is blended straight into I420 frames. Its width and height are even,
// and it is always placed at an even offset, so the chroma planes line up.
type yuva struct {
	w, h   int
	y, a   []byte
	u, v   []byte
	ca     []byte
	opaque bool // every alpha is 255: blending can skip the multiply
}

// rasterKey identifies one prepared variant of a sticker: the animation
// frame, the pixel size and the rotation in tenths of a degree.
type rasterKey struct {
	frame, w, h int
	rot         int
}

// rasterCache keeps a sticker's prepared variants. Only the session's
// media goroutine touches it.
type rasterCache struct {
	m map[rasterKey]*yuva
}

// maxCached bounds a cache; an animation that changes size or rotation
// every frame starts over rather than grow it.
const maxCached = 48

func (c *rasterCache) get(k rasterKey, src *image.NRGBA) *yuva {
	if r, ok := c.m[k]; ok {
		return r
	}
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[rasterKey]*yuva, 8)
	}
	r := rasterize(src, k.w, k.h, float64(k.rot)/10)
	c.m[k] = r
	return r
}

// rasterize scales src to w×h, rotates it clockwise by rot degrees about
// its centre (growing the box to hold it), and converts it to planes.
func rasterize(src *image.NRGBA, w, h int, rot float64) *yuva {
	scaled := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(scaled, scaled.Rect, src, src.Bounds(), draw.Src, nil)
	img := scaled
	if r := math.Mod(rot, 360); r != 0 {
		th := r * math.Pi / 180
		c, s := math.Cos(th), math.Sin(th)
		bw := int(math.Ceil(math.Abs(float64(w)*c) + math.Abs(float64(h)*s) - 1e-9))
		bh := int(math.Ceil(math.Abs(float64(w)*s) + math.Abs(float64(h)*c) - 1e-9))
		img = image.NewRGBA(image.Rect(0, 0, max(bw, 1), max(bh, 1)))
		// With y pointing down, this matrix turns clockwise on screen.
		cx, cy := float64(w)/2, float64(h)/2
		dx, dy := float64(img.Rect.Dx())/2, float64(img.Rect.Dy())/2
		m := f64.Aff3{c, -s, dx - c*cx + s*cy, s, c, dy - s*cx - c*cy}
		draw.BiLinear.Transform(img, m, scaled, scaled.Rect, draw.Src, nil)
	}
	return toYUVA(img)
}

// toYUVA converts premultiplied RGBA to BT.601 limited-range planes, the
// colour space WebRTC VP8 streams use, padding to even sides.
func toYUVA(img *image.RGBA) *yuva {
	iw, ih := img.Rect.Dx(), img.Rect.Dy()
	w, h := iw+iw&1, ih+ih&1
	r := &yuva{w: w, h: h, y: make([]byte, w*h), a: make([]byte, w*h),
		u: make([]byte, w*h/4), v: make([]byte, w*h/4), ca: make([]byte, w*h/4)}
	r.opaque = iw == w && ih == h
	for yy := 0; yy < ih; yy++ {
		row := img.Pix[yy*img.Stride:]
		for xx := 0; xx < iw; xx++ {
			p := row[xx*4 : xx*4+4]
			a := int(p[3])
			if a != 255 {
				r.opaque = false
			}
			if a == 0 {
				continue
			}
			R, G, B := unpremul(int(p[0]), a), unpremul(int(p[1]), a), unpremul(int(p[2]), a)
			r.y[yy*w+xx] = byte((66*R+129*G+25*B+128)>>8 + 16)
			r.a[yy*w+xx] = byte(a)
		}
	}
	cw := w / 2
	for cy := 0; cy < h/2; cy++ {
		for cx := 0; cx < cw; cx++ {
			var sr, sg, sb, sa int
			for dy := range 2 {
				yy := cy*2 + dy
				if yy >= ih {
					continue
				}
				for dx := range 2 {
					xx := cx*2 + dx
					if xx >= iw {
						continue
					}
					p := img.Pix[yy*img.Stride+xx*4:]
					sr, sg, sb, sa = sr+int(p[0]), sg+int(p[1]), sb+int(p[2]), sa+int(p[3])
				}
			}
			if sa == 0 {
				continue
			}
			// Alpha-weighted mean colour of the block, so edges keep their hue.
			R, G, B := sr*255/sa, sg*255/sa, sb*255/sa
			i := cy*cw + cx
			r.u[i] = clamp8((-38*R-74*G+112*B+128)>>8 + 128)
			r.v[i] = clamp8((112*R-94*G-18*B+128)>>8 + 128)
			r.ca[i] = byte((sa + 2) / 4)
		}
	}
	return r
}

func unpremul(c, a int) int { return min(255, (c*255+a/2)/a) }

func clamp8(v int) byte { return byte(min(255, max(0, v))) }

// blend alpha-blends s onto im with its top-left corner at (left, top),
// which must be even, scaled by opacity (0..256). Parts outside the frame
// are clipped. Only the pixels under the sticker are touched.
func blend(im *vpx.Image, s *yuva, left, top, opacity int) {
	if opacity <= 0 {
		return
	}
	blendPlane(im.Y, im.Width, im.Height, s.y, s.a, s.w, s.h, left, top, opacity, s.opaque)
	cw, ch := im.ChromaWidth(), im.ChromaHeight()
	blendPlane(im.U, cw, ch, s.u, s.ca, s.w/2, s.h/2, left>>1, top>>1, opacity, s.opaque)
	blendPlane(im.V, cw, ch, s.v, s.ca, s.w/2, s.h/2, left>>1, top>>1, opacity, s.opaque)
}

// blendPlane blends one plane: dst is dw×dh, src and alpha are sw×sh.
func blendPlane(dst []byte, dw, dh int, src, alpha []byte, sw, sh, left, top, opacity int, opaque bool) {
	x0, x1 := max(0, left), min(dw, left+sw)
	y0, y1 := max(0, top), min(dh, top+sh)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	n := x1 - x0
	for y := y0; y < y1; y++ {
		d := dst[y*dw+x0 : y*dw+x0+n]
		so := (y-top)*sw + (x0 - left)
		s := src[so : so+n]
		if opaque && opacity >= 256 {
			copy(d, s)
			continue
		}
		a := alpha[so : so+n]
		for i := range d {
			k := int(a[i])
			if k == 0 {
				continue
			}
			if opacity < 256 {
				k = k * opacity >> 8
			}
			// (s*k + d*(255-k)) / 255, rounded.
			d[i] = byte((int(s[i])*k + int(d[i])*(255-k) + 127) / 255)
		}
	}
}

// floorEven rounds v down to an even number (also for negative v).
func floorEven(v int) int { return v &^ 1 }
