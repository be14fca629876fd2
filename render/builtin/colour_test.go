package builtin

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"
)

// colourClass names the colour family of an opaque colour.
func colourClass(c color.Color) string {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	r, g, b := float64(n.R)/255, float64(n.G)/255, float64(n.B)/255
	hi, lo := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
	switch {
	case hi < 0.2:
		return "black"
	case hi-lo < 0.18*hi:
		if hi > 0.8 {
			return "white"
		}
		return "grey"
	}
	var h float64
	switch hi {
	case r:
		h = math.Mod(60*(g-b)/(hi-lo)+360, 360)
	case g:
		h = 60 * (2 + (b-r)/(hi-lo))
	default:
		h = 60 * (4 + (r-g)/(hi-lo))
	}
	for _, c := range []struct {
		upto float64
		name string
	}{{15, "red"}, {40, "orange"}, {70, "yellow"}, {165, "green"}, {195, "cyan"},
		{255, "blue"}, {290, "purple"}, {345, "pink"}, {360, "red"}} {
		if h < c.upto {
			return c.name
		}
	}
	return "red"
}

// shares returns each colour class's share of the opaque pixels of img.
func shares(img image.Image) map[string]float64 {
	count, total := map[string]float64{}, 0.0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.At(x, y)
			if _, _, _, a := c.RGBA(); a >= 0x8000 {
				count[colourClass(c)]++
				total++
			}
		}
	}
	for k := range count {
		count[k] /= total
	}
	return count
}

// dominant returns the most common colour class of img's opaque pixels, or
// "multi" when no class reaches 40% and at least four reach 5% each.
func dominant(img image.Image) string {
	s := shares(img)
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return s[names[i]] > s[names[j]] })
	if len(names) == 0 {
		return ""
	}
	if s[names[0]] < 0.4 {
		big := 0
		for _, k := range names {
			if s[k] >= 0.05 {
				big++
			}
		}
		if big >= 4 {
			return "multi"
		}
		return fmt.Sprintf("mixed(%s)", names[0])
	}
	return names[0]
}
