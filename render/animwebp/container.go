package animwebp

import (
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"io"
	"time"
)

// Info describes a WebP file without decoding its frames.
type Info struct {
	Width, Height int // canvas size
	Animated      bool
	Frames        int
	LoopCount     int           // 0 = forever
	Duration      time.Duration // sum of frame delays (animated only), as Decode reports them
	// Background is the ANIM chunk's background colour. Decode does not
	// paint it (see Decode); it is reported for callers that want it.
	Background color.NRGBA
}

// frameRef locates one frame's bitstream inside the file.
type frameRef struct {
	rect     image.Rectangle // position on the canvas
	delay    time.Duration
	blend    bool // alpha-blend onto the canvas (else overwrite)
	dispose  bool // clear rect to transparent after display
	lossless bool // bits is VP8L (else VP8)
	alph     span // ALPH payload; len 0 when absent or ignored
	bits     span // VP8 or VP8L payload
}

type span struct{ off, len int64 }

type container struct {
	info   Info
	frames []frameRef // only filled when keep is set
}

// Probe reads the RIFF container headers (VP8X/ANIM/ANMF) of r and returns
// Info. It reads only chunk headers, never pixel data, and applies no Limits.
func Probe(r io.ReaderAt, size int64) (Info, error) {
	c, err := parse(r, size, nil, false)
	if err != nil {
		return Info{}, err
	}
	return c.info, nil
}

// chunkReader walks RIFF chunks within [off, end) of ra.
type chunkReader struct {
	ra  io.ReaderAt
	buf [24]byte
}

// read returns n (<= 24) bytes at off, which must lie before end.
func (cr *chunkReader) read(off, end int64, n int, what string) ([]byte, error) {
	if off < 0 || int64(n) > end-off {
		return nil, corruptf("truncated %s", what)
	}
	b := cr.buf[:n]
	if _, err := cr.ra.ReadAt(b, off); err != nil {
		return nil, readErr(err, what)
	}
	return b, nil
}

// chunk reads the chunk header at off and returns its FourCC, payload span
// and the offset of the next chunk. The payload must fit before end; the
// padding byte of a final odd-sized chunk may be missing.
func (cr *chunkReader) chunk(off, end int64) (string, span, int64, error) {
	b, err := cr.read(off, end, 8, "chunk header")
	if err != nil {
		return "", span{}, 0, err
	}
	id := string(b[:4])
	n := int64(binary.LittleEndian.Uint32(b[4:]))
	p := span{off + 8, n}
	if n > end-p.off {
		return "", span{}, 0, corruptf("chunk %q size %d overruns its container", id, n)
	}
	next := min(p.off+n+n&1, end)
	return id, p, next, nil
}

func le24(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 }

// parse validates the container structure. lim, when not nil, is checked as
// soon as the canvas size and each frame are known. keep fills c.frames.
func parse(ra io.ReaderAt, size int64, lim *Limits, keep bool) (*container, error) {
	cr := &chunkReader{ra: ra}
	var hdr [12]byte
	hn := int(max(0, min(size, int64(len(hdr)))))
	n, err := ra.ReadAt(hdr[:hn], 0)
	if n < hn && !errors.Is(err, io.EOF) {
		return nil, readErr(err, "RIFF header")
	}
	if n < len(hdr) {
		return nil, shortHeader(hdr[:n])
	}
	if string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WEBP" {
		return nil, ErrNotWebP
	}
	end := 8 + int64(binary.LittleEndian.Uint32(hdr[4:]))
	if end > size {
		return nil, corruptf("RIFF size %d exceeds file size %d", end, size)
	}
	c := &container{}
	id, p, next, err := cr.chunk(12, end)
	if err != nil {
		return nil, err
	}
	switch id {
	case "VP8 ", "VP8L":
		f := frameRef{lossless: id == "VP8L", bits: p}
		if f.rect, err = cr.bitstreamSize(f); err != nil {
			return nil, err
		}
		c.info.Width, c.info.Height, c.info.Frames = f.rect.Dx(), f.rect.Dy(), 1
		if lim != nil {
			if err := lim.checkCanvas(c.info.Width, c.info.Height); err != nil {
				return nil, err
			}
		}
		if keep {
			c.frames = []frameRef{f}
		}
		return c, nil
	case "VP8X":
		if err := c.parseExtended(cr, p, next, end, lim, keep); err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, corruptf("first chunk is %q, want VP8, VP8L or VP8X", id)
}

// shortHeader classifies an input shorter than the 12-byte RIFF header.
func shortHeader(b []byte) error {
	const magic = "RIFF"
	if len(b) > 0 && string(b[:min(len(b), 4)]) == magic[:min(len(b), 4)] {
		return corruptf("truncated RIFF header")
	}
	return ErrNotWebP
}

// Limits bounds decoding so that a decompression bomb cannot exhaust memory.
// They are checked against the container headers before any pixel buffer is
// allocated. A zero or negative field means "use the DefaultLimits value".
type Limits struct {
	MaxWidth, MaxHeight int   // canvas size
	MaxFrames           int   // number of frames
	MaxPixels           int64 // canvas width*height*frames
}

// DefaultLimits returns 3840x2160, 2000 frames and 600e6 pixels in total.
func DefaultLimits() Limits {
	return Limits{MaxWidth: 3840, MaxHeight: 2160, MaxFrames: 2000, MaxPixels: 600e6}
}

// normalized replaces unset fields with their defaults.
func (l Limits) normalized() Limits {
	d := DefaultLimits()
	if l.MaxWidth <= 0 {
		l.MaxWidth = d.MaxWidth
	}
	if l.MaxHeight <= 0 {
		l.MaxHeight = d.MaxHeight
	}
	if l.MaxFrames <= 0 {
		l.MaxFrames = d.MaxFrames
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	return l
}

// checkCanvas checks the canvas size and the pixels of a single frame.
func (l *Limits) checkCanvas(w, h int) error {
	if w > l.MaxWidth {
		return tooLargef("canvas width %d exceeds MaxWidth %d", w, l.MaxWidth)
	}
	if h > l.MaxHeight {
		return tooLargef("canvas height %d exceeds MaxHeight %d", h, l.MaxHeight)
	}
	return l.checkFrames(w, h, 1)
}

// checkFrames checks a frame count against MaxFrames and MaxPixels. w and h
// are at most 1<<24 each, so w*h cannot overflow int64 and the division
// avoids overflowing with the frame count.
func (l *Limits) checkFrames(w, h, n int) error {
	if n > l.MaxFrames {
		return tooLargef("more than MaxFrames %d frames", l.MaxFrames)
	}
	px := int64(w) * int64(h)
	if px > l.MaxPixels || int64(n) > l.MaxPixels/px {
		return tooLargef("%dx%d canvas x %d frames exceeds MaxPixels %d", w, h, n, l.MaxPixels)
	}
	return nil
}
