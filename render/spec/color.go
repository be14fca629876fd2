package spec

import (
	"image/color"
	"strconv"
)

// ParseColor turns a validated "#RRGGBB" or "#RRGGBBAA" into a colour. An
// invalid string yields opaque black; Validate reports it before this runs.
func ParseColor(s string) color.NRGBA {
	if !colorRe.MatchString(s) {
		return color.NRGBA{A: 255}
	}
	n, _ := strconv.ParseUint(s[1:], 16, 32)
	if len(s) == 7 {
		return color.NRGBA{R: uint8(n >> 16), G: uint8(n >> 8), B: uint8(n), A: 255}
	}
	return color.NRGBA{R: uint8(n >> 24), G: uint8(n >> 16), B: uint8(n >> 8), A: uint8(n)}
}
