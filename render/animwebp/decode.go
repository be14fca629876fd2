package animwebp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"time"
)

// Frame is one fully composited canvas frame.
type Frame struct {
	Image *image.NRGBA
	Delay time.Duration
}

// Decode decodes an animated (or still) WebP into composited full-canvas
// frames, honouring ANMF offsets, blending (alpha-blend vs overwrite) and
// disposal (none vs dispose-to-background), and reports the loop count in
// Info. Limits are checked against the headers before any pixel buffer is
// allocated.
//
// Like libwebp's WebPAnimDecoder and web browsers, the canvas starts fully
// transparent and "dispose to background" clears to transparent: the ANIM
// background colour is only a hint (encoders default it to opaque white) and
// is returned in Info.Background for callers that want to paint it.
//
// A still image yields one frame with Delay 0. Animated frame delays of
// 10 ms or less become 100 ms, as in browsers. The whole compressed input is read into memory; cap
// r (for example with io.LimitReader) if its size is not already bounded.
func Decode(r io.Reader, lim Limits) ([]Frame, Info, error) {
	d, err := newDecoder(r, lim)
	if err != nil {
		return nil, Info{}, err
	}
	frames := make([]Frame, 0, len(d.c.frames))
	for d.more() {
		m, delay, err := d.next()
		if err != nil {
			return nil, Info{}, err
		}
		frames = append(frames, Frame{Image: cloneNRGBA(m), Delay: delay})
	}
	return frames, d.c.info, nil
}

// decoder yields composited frames one at a time, reusing one canvas.
type decoder struct {
	data   []byte
	c      *container
	canvas *image.NRGBA
	i      int
	clear  image.Rectangle // previous frame's rect to dispose, if any
}

func newDecoder(r io.Reader, lim Limits) (*decoder, error) {
	data, err := readWebP(r)
	if err != nil {
		return nil, err
	}
	lim = lim.normalized()
	c, err := parse(bytes.NewReader(data), int64(len(data)), &lim, true)
	if err != nil {
		return nil, err
	}
	return &decoder{data: data, c: c}, nil
}

func (d *decoder) more() bool { return d.i < len(d.c.frames) }

// next composites the next frame and returns the canvas, which is only
// valid until the following call.
func (d *decoder) next() (*image.NRGBA, time.Duration, error) {
	f := d.c.frames[d.i]
	src, err := decodeFrame(d.data, f)
	if err != nil {
		return nil, 0, frameErr(err, d.i)
	}
	if d.canvas == nil {
		d.canvas = image.NewNRGBA(image.Rect(0, 0, d.c.info.Width, d.c.info.Height))
	}
	clearRect(d.canvas, d.clear)
	if f.blend {
		blendOver(d.canvas, f.rect, src)
	} else {
		copyRect(d.canvas, f.rect, src)
	}
	d.clear = image.Rectangle{}
	if f.dispose {
		d.clear = f.rect
	}
	d.i++
	if !d.c.info.Animated {
		return d.canvas, 0, nil
	}
	return d.canvas, f.delay, nil
}

// readWebP reads one RIFF WebP file from r, allocating only as much as r
// actually delivers.
func readWebP(r io.Reader) ([]byte, error) {
	var hdr [12]byte
	n, err := io.ReadFull(r, hdr[:])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, shortHeader(hdr[:n])
	} else if err != nil {
		return nil, fmt.Errorf("animwebp: reading RIFF header: %w", err)
	}
	if string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WEBP" {
		return nil, ErrNotWebP
	}
	size := int64(binary.LittleEndian.Uint32(hdr[4:]))
	if size < 4 {
		return nil, corruptf("RIFF size %d too small", size)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(size+8, 1<<20))) // the declared size is not trusted beyond 1 MiB
	buf.Write(hdr[:])
	m, err := io.Copy(&buf, io.LimitReader(r, size-4))
	if err != nil {
		return nil, fmt.Errorf("animwebp: reading WebP data: %w", err)
	}
	if m < size-4 {
		return nil, corruptf("truncated: RIFF declares %d bytes, got %d", size+8, m+12)
	}
	return buf.Bytes(), nil
}

func cloneNRGBA(m *image.NRGBA) *image.NRGBA {
	c := *m
	c.Pix = bytes.Clone(m.Pix)
	return &c
}

// ConvertToAPNG decodes a WebP from r and writes it to w as an APNG (see
// Decode and apngWriter) with the file's loop count. It composites and
// encodes one frame at a time, so besides the compressed input it holds only
// the canvas and the frame being decoded. On error, w may already hold a
// partial APNG: write to a temporary file and discard it on failure.
func ConvertToAPNG(r io.Reader, w io.Writer, lim Limits) (Info, error) {
	d, err := newDecoder(r, lim)
	if err != nil {
		return Info{}, err
	}
	info := d.c.info
	aw, err := newAPNGWriter(w, info.Width, info.Height, len(d.c.frames), info.LoopCount)
	if err != nil {
		return Info{}, err
	}
	for d.more() {
		m, delay, err := d.next()
		if err != nil {
			return Info{}, err
		}
		if err := aw.writeFrame(m, delay); err != nil {
			return Info{}, err
		}
	}
	return info, aw.close()
}

// clearRect sets r (already within the canvas) to transparent black.
func clearRect(dst *image.NRGBA, r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := dst.PixOffset(r.Min.X, y)
		clear(dst.Pix[i : i+4*r.Dx()])
	}
}

// copyRect overwrites r of dst with src (r's size, origin at 0,0).
func copyRect(dst *image.NRGBA, r image.Rectangle, src *image.NRGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := dst.PixOffset(r.Min.X, y)
		j := src.PixOffset(0, y-r.Min.Y)
		copy(dst.Pix[i:i+4*r.Dx()], src.Pix[j:j+4*r.Dx()])
	}
}

// blendOver alpha-blends src over r of dst in non-premultiplied space,
// using libwebp's integer approximation (BlendPixelNonPremult in
// anim_decode.c) so results match WebPAnimDecoder.
func blendOver(dst *image.NRGBA, r image.Rectangle, src *image.NRGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := dst.PixOffset(r.Min.X, y)
		j := src.PixOffset(0, y-r.Min.Y)
		d := dst.Pix[i : i+4*r.Dx()]
		s := src.Pix[j : j+4*r.Dx()]
		for k := 0; k < len(d); k += 4 {
			blendPixel(d[k:k+4:k+4], s[k:k+4:k+4])
		}
	}
}

func blendPixel(d, s []byte) {
	sa := uint32(s[3])
	switch sa {
	case 0:
		return
	case 0xff:
		copy(d, s)
		return
	}
	da := (uint32(d[3]) * (256 - sa)) >> 8
	ba := sa + da
	scale := (uint32(1) << 24) / ba
	for c := 0; c < 3; c++ {
		d[c] = uint8(((uint32(s[c])*sa + uint32(d[c])*da) * scale) >> 24)
	}
	d[3] = uint8(ba)
}
