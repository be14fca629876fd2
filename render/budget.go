package render

import (
	"fmt"
	"math"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
)

// The memory model behind checkWork, fitted to ffmpeg 5.1 with libx264
// on 4K and 1080p outputs and then rounded up (peak RSS measured by
// TestRender_WorstCaseMemory): a base per output pixel (decoders,
// encoder look-ahead), output-sized frames queued at each overlay (more
// for a sticker that is a frame stream than for one held frame), bytes
// per sticker pixel through its filters, and the raw frames a loop holds.
const (
	baseBytesPerOutputPixel   = 80
	movingBytesPerOutputPixel = 4
	stillBytesPerOutputPixel  = 1
	bytesPerStickerPixel      = 12
)

// stickerBox is the size a sticker picture is scaled to once: its largest
// width on the output frame, its height from its aspect ratio. Smaller
// animated sizes are scaled from it.
func stickerBox(p *plan, l layer) (w, h int) {
	w = max(1, int(math.Round(l.props.Width.Max()*float64(p.width))))
	h = max(1, int(math.Round(float64(w)*float64(l.info.Height)/float64(l.info.Width))))
	return w, h
}

// rotates reports whether the sticker is ever turned, so rotate pads it
// to the square on its diagonal.
func rotates(l layer) bool {
	return !l.props.Rotation.IsConstant() || math.Mod(l.props.Rotation[0].V, 360) != 0
}

// layerWork estimates the memory one sticker adds to an ffmpeg run, and
// the part of it that is looped frames.
func layerWork(p *plan, l layer) (bytes, loopBytes int64) {
	out := int64(p.width) * int64(p.height)
	if l.draw != nil {
		return out * stillBytesPerOutputPixel, 0 // drawtext draws into the frame itself
	}
	w, h := stickerBox(p, l)
	pixels := int64(w) * int64(h)
	if rotates(l) {
		d := int64(math.Ceil(math.Hypot(float64(w), float64(h))))
		pixels = d * d
	}
	perOut := int64(stillBytesPerOutputPixel)
	if l.info.Kind == media.KindAnimated || needsFrames(l.props) {
		perOut = movingBytesPerOutputPixel
	}
	if l.info.Kind == media.KindAnimated && l.loop {
		loopBytes = int64(w) * int64(h) * 4 * int64(max(1, l.info.Frames))
	}
	return out*perOut + pixels*bytesPerStickerPixel + loopBytes, loopBytes
}

// checkWork refuses a render whose estimated ffmpeg memory is over the
// limit, naming the sticker that takes it over.
func checkWork(p *plan, lim media.Limits) error {
	total := int64(p.width) * int64(p.height) * baseBytesPerOutputPixel
	for _, l := range p.layers {
		b, loop := layerWork(p, l)
		total += b
		field := fmt.Sprintf("stickers[%d]", l.index)
		if loop > maxLoopBytes {
			w, h := stickerBox(p, l)
			return workError(errcode.AssetTooLarge, field, "looping this animation holds %d frames of %dx%d (%d MiB), at most %d MiB; use fewer frames, a smaller width or \"loop\": false",
				l.info.Frames, w, h, loop>>20, maxLoopBytes>>20)
		}
		if total > lim.MaxRenderBytes {
			return workError(errcode.SpecInvalid, field, "with the stickers up to this one the render would need about %d MiB of memory on the %dx%d output, at most %d MiB; use fewer, smaller or fewer moving stickers, or a smaller output",
				total>>20, p.width, p.height, lim.MaxRenderBytes>>20)
		}
	}
	return nil
}

func workError(code errcode.Code, field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &errcode.Error{Code: code, Message: field + ": " + msg,
		Fields: []errcode.FieldError{{Field: field, Message: msg}}}
}
