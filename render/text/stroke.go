package text

import (
	"image"
	"math"
)

// strokeMask dilates the antialiased coverage mask fill by radius pixels
// with a disc, returning the antialiased coverage of the outline shape (the
// glyphs grown by radius). The cost is linear in the number of pixels and
// independent of radius.
//
// It computes, for every pixel p, the nearest pixel q with non-zero coverage
// (exact Euclidean distance transform, Felzenszwalb & Huttenlocher, tracking
// the argmin). A partly covered pixel q has the glyph edge about
// cov(q)-0.5 px beyond its centre, so the distance from p's centre to the
// shape is |p-q| - cov(q) + 0.5 and p's coverage by the grown shape is
// clamp(radius - |p-q| + cov(q), 0, 1).
func strokeMask(fill *image.Alpha, radius float64) *image.Alpha {
	b := fill.Rect
	w, h := b.Dx(), b.Dy()
	out := image.NewAlpha(b)
	if w == 0 || h == 0 || !(radius > 0) {
		return out
	}
	reach := int(math.Ceil(radius)) + 1 // farther seeds contribute nothing
	cov := func(x, y int) int { return int(fill.Pix[y*fill.Stride+x]) }

	// Column pass: near[y*w+x] is the row of the nearest seed in column x
	// within reach, or -1. Rows are visited in order for cache locality.
	near := make([]int16, w*h)
	last := make([]int, w)
	for x := range last {
		last[x] = -reach - 1
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if cov(x, y) > 0 {
				last[x] = y
			}
			near[y*w+x] = -1
			if y-last[x] <= reach {
				near[y*w+x] = int16(last[x])
			}
		}
	}
	for x := range last {
		last[x] = h + reach + 1
	}
	for y := h - 1; y >= 0; y-- {
		for x := 0; x < w; x++ {
			if cov(x, y) > 0 {
				last[x] = y
			}
			n := &near[y*w+x]
			if d := last[x] - y; d <= reach && (*n < 0 || d < y-int(*n)) {
				*n = int16(last[x])
			}
		}
	}

	// Row pass: lower envelope of the parabolas (x-q)^2 + g(q).
	g := make([]float64, w)
	v := make([]int, w)
	z := make([]float64, w+1)
	r2 := float64(reach * reach)
	for y := 0; y < h; y++ {
		row := near[y*w : (y+1)*w]
		k := -1
		for q := 0; q < w; q++ {
			if row[q] < 0 {
				continue
			}
			dy := float64(y - int(row[q]))
			g[q] = dy * dy
			fq := g[q] + float64(q*q)
			var s float64
			for k >= 0 {
				p := v[k]
				s = (fq - g[p] - float64(p*p)) / float64(2*(q-p))
				if s > z[k] {
					break
				}
				k--
			}
			k++
			v[k] = q
			if k == 0 {
				z[0] = math.Inf(-1)
			} else {
				z[k] = s
			}
			z[k+1] = math.Inf(1)
		}
		if k < 0 {
			continue
		}
		opix := out.Pix[y*out.Stride : y*out.Stride+w]
		j := 0
		for x := 0; x < w; x++ {
			for z[j+1] < float64(x) {
				j++
			}
			q := v[j]
			d2 := float64((x-q)*(x-q)) + g[q]
			if d2 > r2 {
				continue
			}
			a := radius - math.Sqrt(d2) + float64(cov(q, int(row[q])))/255
			a = max(a, float64(cov(x, y))/255)
			opix[x] = uint8(math.Round(255 * min(max(a, 0), 1)))
		}
	}
	return out
}
