package spec

import (
	"math"

	"github.com/stickerd/stickerd/internal/errcode"
)

// OutputSize applies the contract's defaults to the output frame of a
// source displayed at srcW×srcH: the source's size (scaled down to fit
// the limits), or the one given side with the source's aspect ratio;
// even sides where the codec needs 4:2:0. A side derived from the
// aspect ratio obeys the same limits as a given one: a 64-pixel width
// on a 16×3840 source would derive a height of 15360, so it is refused,
// naming the side that was given.
func OutputSize(o Output, srcW, srcH int) (w, h int, err *errcode.FieldError) {
	w, h = o.Width, o.Height
	aspect := float64(srcW) / float64(srcH)
	given, derived := "", ""
	switch {
	case w == 0 && h == 0:
		w, h = srcW, srcH
		if long, short := max(w, h), min(w, h); long > MaxLongSide || short > MaxShortSide {
			f := math.Min(float64(MaxLongSide)/float64(long), float64(MaxShortSide)/float64(short))
			w, h = int(float64(w)*f), int(float64(h)*f)
		}
	case w == 0:
		w = int(math.Round(float64(h) * aspect))
		given, derived = "height", "width"
	case h == 0:
		h = int(math.Round(float64(w) / aspect))
		given, derived = "width", "height"
	}
	switch o.Format {
	case FormatMP4, FormatWebM, FormatWebP, "":
		w, h = w&^1, h&^1
	}
	w, h = max(w, 2), max(h, 2)
	if given != "" && (max(w, h) > MaxLongSide || min(w, h) > MaxShortSide) {
		fe := FieldErr("output."+given, "with the source's %dx%d frame the %s would be %d pixels (%dx%d), over the limit of %dx%d; give output.%s too, or a smaller %s",
			srcW, srcH, derived, map[string]int{"width": w, "height": h}[derived], w, h, MaxLongSide, MaxShortSide, derived, given)
		return 0, 0, &fe
	}
	return w, h, nil
}
