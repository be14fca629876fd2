package builtin

import (
	"image"
	"image/color"
	"image/gif"
	"io"
	"slices"
)

// encodeGIF renders frames of an animation (phases 0, 1/n, ... (n-1)/n),
// quantises them to one shared palette whose index 0 is transparent, and
// writes a forever-looping GIF.
func encodeGIF(w io.Writer, c *canvas, drawFn func(*canvas, float64), frames, delay int) error {
	imgs := make([]*image.NRGBA, frames)
	for i := range imgs {
		c.clear()
		drawFn(c, float64(i)/float64(frames))
		imgs[i] = c.image()
	}
	pal := quantise(imgs, 255)
	near := nearest(pal)
	g := &gif.GIF{Config: image.Config{ColorModel: pal, Width: size, Height: size}}
	for _, img := range imgs {
		p := image.NewPaletted(img.Rect, pal)
		for i := 0; i < len(img.Pix); i += 4 {
			// GIF has 1-bit transparency: cut at 50% coverage.
			if img.Pix[i+3] >= 128 {
				p.Pix[i/4] = near(key(img.Pix[i:]))
			}
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, delay)
		g.Disposal = append(g.Disposal, gif.DisposalBackground)
	}
	return gif.EncodeAll(w, g)
}

// key packs a pixel into a 15-bit RGB555 histogram key.
func key(p []uint8) int { return int(p[0]>>3)<<10 | int(p[1]>>3)<<5 | int(p[2]>>3) }

// cell is one occupied RGB555 histogram cell: population and 8-bit sums.
type cell struct{ n, r, g, b int }

func (c cell) ch(i int) float64 {
	return float64([3]int{c.r, c.g, c.b}[i]) / float64(c.n)
}

// box is a set of cells with its total squared error and best split axis.
type box struct {
	cells []cell
	err   float64
	axis  int
}

func newBox(cells []cell) box {
	bx := box{cells: cells}
	var n float64
	var sum, sq [3]float64
	for _, c := range cells {
		w := float64(c.n)
		n += w
		for i := range 3 {
			v := c.ch(i)
			sum[i] += w * v
			sq[i] += w * v * v
		}
	}
	best := -1.0
	for i := range 3 {
		v := sq[i] - sum[i]*sum[i]/n
		bx.err += v
		if v > best {
			best, bx.axis = v, i
		}
	}
	return bx
}

// quantise builds a palette of at most k opaque colours plus a transparent
// entry at index 0, by variance-driven median cut over the opaque (alpha >=
// 50%) pixels of imgs. It is deterministic: cells are visited in key order
// and ties broken by position.
func quantise(imgs []*image.NRGBA, k int) color.Palette {
	hist := make([]cell, 1<<15)
	for _, img := range imgs {
		for i := 0; i < len(img.Pix); i += 4 {
			if img.Pix[i+3] >= 128 {
				h := &hist[key(img.Pix[i:])]
				h.n++
				h.r += int(img.Pix[i])
				h.g += int(img.Pix[i+1])
				h.b += int(img.Pix[i+2])
			}
		}
	}
	var cells []cell
	for _, c := range hist {
		if c.n > 0 {
			cells = append(cells, c)
		}
	}
	pal := color.Palette{color.NRGBA{}}
	if len(cells) == 0 {
		return pal
	}
	boxes := []box{newBox(cells)}
	for len(boxes) < k {
		bi := -1
		for i, bx := range boxes {
			if len(bx.cells) > 1 && bx.err > 0 && (bi < 0 || bx.err > boxes[bi].err) {
				bi = i
			}
		}
		if bi < 0 {
			break
		}
		bx := boxes[bi]
		slices.SortStableFunc(bx.cells, func(a, b cell) int {
			va, vb := a.ch(bx.axis), b.ch(bx.axis)
			switch {
			case va < vb:
				return -1
			case va > vb:
				return 1
			}
			return 0
		})
		total, acc, cut := 0, 0, 1
		for _, c := range bx.cells {
			total += c.n
		}
		for i, c := range bx.cells[:len(bx.cells)-1] {
			acc += c.n
			cut = i + 1
			if 2*acc >= total {
				break
			}
		}
		boxes[bi] = newBox(bx.cells[:cut])
		boxes = append(boxes, newBox(bx.cells[cut:]))
	}
	for _, bx := range boxes {
		var s cell
		for _, c := range bx.cells {
			s.n, s.r, s.g, s.b = s.n+c.n, s.r+c.r, s.g+c.g, s.b+c.b
		}
		pal = append(pal, color.NRGBA{uint8((s.r + s.n/2) / s.n), uint8((s.g + s.n/2) / s.n),
			uint8((s.b + s.n/2) / s.n), 255})
	}
	return pal
}

// nearest returns a memoised mapping from RGB555 key to the closest opaque
// palette index.
func nearest(pal color.Palette) func(k int) uint8 {
	memo := make([]int16, 1<<15)
	for i := range memo {
		memo[i] = -1
	}
	return func(k int) uint8 {
		if memo[k] < 0 {
			r, g, b := k>>10<<3|4, k>>5&31<<3|4, k&31<<3|4
			best, bd := 0, 1<<30
			for i := 1; i < len(pal); i++ {
				c := pal[i].(color.NRGBA)
				dr, dg, db := int(c.R)-r, int(c.G)-g, int(c.B)-b
				if d := 2*dr*dr + 4*dg*dg + 3*db*db; d < bd {
					best, bd = i, d
				}
			}
			memo[k] = int16(best)
		}
		return uint8(memo[k])
	}
}
