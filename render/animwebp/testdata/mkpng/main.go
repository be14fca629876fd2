// Command mkpng writes the PNG inputs from which the WebP fixtures in this
// directory were made (see README.md). Run: go run ./mkpng OUTDIR
package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
)

func main() {
	dir := os.Args[1]
	save := func(name string, m image.Image) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		if err := png.Encode(f, m); err != nil {
			panic(err)
		}
		if err := f.Close(); err != nil {
			panic(err)
		}
	}
	solid := func(name string, w, h int, c color.NRGBA) {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < len(m.Pix); i += 4 {
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
		}
		save(name, m)
	}
	solid("f0.png", 64, 48, color.NRGBA{255, 0, 0, 255})
	solid("f1.png", 64, 48, color.NRGBA{0, 255, 0, 128})
	solid("f2.png", 64, 48, color.NRGBA{0, 0, 255, 255})
	// f3: left half opaque yellow, right half fully transparent.
	m := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 32; x++ {
			m.SetNRGBA(x, y, color.NRGBA{255, 255, 0, 255})
		}
	}
	save("f3.png", m)
	solid("s_red.png", 64, 48, color.NRGBA{255, 0, 0, 255})
	solid("s_blue_a.png", 16, 16, color.NRGBA{0, 0, 255, 128})
	solid("s_green_a.png", 16, 16, color.NRGBA{0, 255, 0, 128})
	solid("s_white.png", 8, 8, color.NRGBA{255, 255, 255, 255})
	// gradient.png: 63x47 (odd sizes) colour gradient, alpha fading out on
	// the right half.
	const w, h = 63, 47
	g := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := uint8(255)
			if x > w/2 {
				a = uint8(255 * (w - x) / w * 2)
			}
			g.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x*7 + y*13) % 256), a})
		}
	}
	save("gradient.png", g)
}
