package animwebp

import (
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"time"
)

// VP8X flags.
const flagAnimation = 1 << 1

// ANMF flags.
const (
	anmfDispose = 1 << 0 // dispose to background after display
	anmfNoBlend = 1 << 1 // overwrite instead of alpha-blending
)

// frameDelay converts an ANMF duration to a delay. Durations of 10 ms or
// less are shown for 100 ms, as Chrome and Firefox do for every animated
// image format.
func frameDelay(ms int) time.Duration {
	if ms <= 10 {
		return 100 * time.Millisecond
	}
	return time.Duration(ms) * time.Millisecond
}

// parseExtended parses a VP8X file: vp8x is the VP8X payload and the
// remaining chunks lie in [off, end).
func (c *container) parseExtended(cr *chunkReader, vp8x span, off, end int64, lim *Limits, keep bool) error {
	b, err := cr.read(vp8x.off, vp8x.off+vp8x.len, 10, "VP8X chunk")
	if err != nil {
		return err
	}
	animated := b[0]&flagAnimation != 0
	w, h := 1+le24(b[4:]), 1+le24(b[7:])
	c.info.Width, c.info.Height, c.info.Animated = w, h, animated
	if lim != nil {
		if err := lim.checkCanvas(w, h); err != nil {
			return err
		}
	}
	if !animated {
		f := frameRef{rect: image.Rect(0, 0, w, h)}
		if err := cr.imageChunks(&f, off, end); err != nil {
			return err
		}
		c.info.Frames = 1
		if keep {
			c.frames = []frameRef{f}
		}
		return nil
	}
	seenANIM := false
	for off < end {
		id, p, next, err := cr.chunk(off, end)
		if err != nil {
			return err
		}
		switch id {
		case "ANIM":
			b, err := cr.read(p.off, p.off+p.len, 6, "ANIM chunk")
			if err != nil {
				return err
			}
			c.info.Background = color.NRGBA{R: b[2], G: b[1], B: b[0], A: b[3]}
			c.info.LoopCount = int(binary.LittleEndian.Uint16(b[4:]))
			seenANIM = true
		case "ANMF":
			if !seenANIM {
				return corruptf("ANMF chunk before ANIM chunk")
			}
			f, err := cr.parseANMF(p, w, h)
			if err != nil {
				return frameErr(err, c.info.Frames)
			}
			c.info.Frames++
			if lim != nil {
				if err := lim.checkFrames(w, h, c.info.Frames); err != nil {
					return err
				}
			}
			c.info.Duration = min(c.info.Duration+f.delay, time.Duration(math.MaxInt64/2))
			if keep {
				c.frames = append(c.frames, f)
			}
		case "ALPH", "VP8 ", "VP8L":
			return corruptf("%q chunk outside ANMF in an animation", id)
		}
		off = next
	}
	if !seenANIM {
		return corruptf("animation without ANIM chunk")
	}
	if c.info.Frames == 0 {
		return corruptf("animation without frames")
	}
	return nil
}

// parseANMF parses one ANMF payload for a w x h canvas.
func (cr *chunkReader) parseANMF(p span, w, h int) (frameRef, error) {
	end := p.off + p.len
	b, err := cr.read(p.off, end, 16, "ANMF header")
	if err != nil {
		return frameRef{}, err
	}
	x, y := 2*le24(b[0:]), 2*le24(b[3:])
	fw, fh := 1+le24(b[6:]), 1+le24(b[9:])
	if x+fw > w || y+fh > h {
		return frameRef{}, corruptf("frame %dx%d at +%d+%d exceeds %dx%d canvas", fw, fh, x, y, w, h)
	}
	f := frameRef{
		rect:    image.Rect(x, y, x+fw, y+fh),
		delay:   frameDelay(le24(b[12:])),
		blend:   b[15]&anmfNoBlend == 0,
		dispose: b[15]&anmfDispose != 0,
	}
	return f, cr.imageChunks(&f, p.off+16, end)
}

// imageChunks finds the optional ALPH and the VP8/VP8L chunk in [off, end)
// and checks that the bitstream's size matches f.rect. Other chunks are
// skipped.
func (cr *chunkReader) imageChunks(f *frameRef, off, end int64) error {
	for off < end {
		id, p, next, err := cr.chunk(off, end)
		if err != nil {
			return err
		}
		switch id {
		case "ALPH":
			if p.len == 0 {
				return corruptf("empty ALPH chunk")
			}
			if f.alph.len == 0 {
				f.alph = p
			}
		case "VP8 ", "VP8L":
			f.bits, f.lossless = p, id == "VP8L"
			if f.lossless {
				f.alph = span{} // VP8L carries its own alpha
			}
			r, err := cr.bitstreamSize(*f)
			if err != nil {
				return err
			}
			if r.Size() != f.rect.Size() {
				return corruptf("%q bitstream is %dx%d, frame is %dx%d", id, r.Dx(), r.Dy(), f.rect.Dx(), f.rect.Dy())
			}
			return nil
		}
		off = next
	}
	return corruptf("no VP8 or VP8L bitstream")
}

// bitstreamSize reads the dimensions from a VP8 or VP8L bitstream header.
func (cr *chunkReader) bitstreamSize(f frameRef) (image.Rectangle, error) {
	end := f.bits.off + f.bits.len
	var w, h int
	if f.lossless {
		b, err := cr.read(f.bits.off, end, 5, "VP8L header")
		if err != nil {
			return image.Rectangle{}, err
		}
		v := binary.LittleEndian.Uint32(b[1:])
		if b[0] != 0x2f || v>>29 != 0 {
			return image.Rectangle{}, corruptf("bad VP8L header")
		}
		w, h = int(v&0x3fff)+1, int(v>>14&0x3fff)+1
	} else {
		b, err := cr.read(f.bits.off, end, 10, "VP8 header")
		if err != nil {
			return image.Rectangle{}, err
		}
		if b[0]&1 != 0 {
			return image.Rectangle{}, unsupportedf("VP8 bitstream is not a key frame")
		}
		if b[0]>>1&7 > 3 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
			return image.Rectangle{}, corruptf("bad VP8 header")
		}
		w = int(binary.LittleEndian.Uint16(b[6:]) & 0x3fff)
		h = int(binary.LittleEndian.Uint16(b[8:]) & 0x3fff)
		if w == 0 || h == 0 {
			return image.Rectangle{}, corruptf("VP8 frame has zero size")
		}
	}
	return image.Rect(0, 0, w, h), nil
}
