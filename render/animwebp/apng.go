package animwebp

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"io"
	"math"
	"time"
)

// apngWriter streams an APNG whose frame count is known up front: IHDR
// (8-bit RGBA), acTL with num_plays = loops (0 = forever), then per frame an
// fcTL carrying its delay and IDAT (frame 0, which is also the default image)
// or fdAT data, using dispose_op NONE and blend_op SOURCE. Frames must share
// one size.
type apngWriter struct {
	w        *bufio.Writer
	size     image.Point
	frames   int // declared in acTL
	written  int
	seq      uint32
	z        bytes.Buffer
	zw       *zlib.Writer
	filtered [5][]byte // candidate filtered rows, filter type byte first
	prev     []byte    // previous raw row (zeros for the first row)
	crc      [4]byte
}

func newAPNGWriter(w io.Writer, width, height, frames, loops int) (*apngWriter, error) {
	if width <= 0 || height <= 0 || width > math.MaxInt32 || height > math.MaxInt32 || width > math.MaxInt/4 {
		return nil, unsupportedf("APNG size %dx%d", width, height)
	}
	if frames <= 0 || frames > math.MaxInt32 || loops < 0 || loops > math.MaxInt32 {
		return nil, unsupportedf("APNG with %d frames, %d loops", frames, loops)
	}
	a := &apngWriter{w: bufio.NewWriterSize(w, 64<<10), size: image.Pt(width, height), frames: frames}
	a.zw, _ = zlib.NewWriterLevel(&a.z, zlib.BestSpeed)
	for i := range a.filtered {
		a.filtered[i] = make([]byte, 1+4*width)
		a.filtered[i][0] = byte(i)
	}
	a.prev = make([]byte, 4*width)
	if _, err := a.w.WriteString("\x89PNG\r\n\x1a\n"); err != nil {
		return nil, err
	}
	ihdr := be32(nil, uint32(width), uint32(height))
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, deflate, adaptive, no interlace
	if err := a.chunk("IHDR", ihdr); err != nil {
		return nil, err
	}
	return a, a.chunk("acTL", be32(nil, uint32(frames), uint32(loops)))
}

// writeFrame appends one full-size frame shown for delay.
func (a *apngWriter) writeFrame(m *image.NRGBA, delay time.Duration) error {
	if a.written == a.frames {
		return fmt.Errorf("animwebp: APNG declared %d frames, got more", a.frames)
	}
	if m.Bounds().Size() != a.size {
		return unsupportedf("APNG frame %d is %v, want %v", a.written, m.Bounds().Size(), a.size)
	}
	num, den := delayFraction(delay)
	fctl := be32(nil, a.seq, uint32(a.size.X), uint32(a.size.Y), 0, 0)
	fctl = binary.BigEndian.AppendUint16(fctl, num)
	fctl = binary.BigEndian.AppendUint16(fctl, den)
	fctl = append(fctl, 0, 0) // dispose_op NONE, blend_op SOURCE
	a.seq++
	if err := a.chunk("fcTL", fctl); err != nil {
		return err
	}
	data, err := a.compress(m)
	if err != nil {
		return err
	}
	// Keep chunks well under the 2^31-1 byte limit; a frame may span
	// several IDAT or fdAT chunks.
	const maxChunk = 1 << 30
	for len(data) > 0 {
		part := data[:min(len(data), maxChunk)]
		data = data[len(part):]
		if a.written == 0 {
			err = a.chunk("IDAT", part)
		} else {
			err = a.chunk("fdAT", be32(nil, a.seq), part)
			a.seq++
		}
		if err != nil {
			return err
		}
	}
	a.written++
	return nil
}

func (a *apngWriter) close() error {
	if a.written != a.frames {
		return fmt.Errorf("animwebp: APNG declared %d frames, got %d", a.frames, a.written)
	}
	if err := a.chunk("IEND", nil); err != nil {
		return err
	}
	return a.w.Flush()
}

// delayFraction expresses d as delay_num/delay_den seconds: milliseconds
// when they fit in 16 bits, else centiseconds, else whole seconds.
func delayFraction(d time.Duration) (num, den uint16) {
	ms := max(0, (d+time.Millisecond/2)/time.Millisecond)
	switch {
	case ms <= math.MaxUint16:
		return uint16(ms), 1000
	case (ms+5)/10 <= math.MaxUint16:
		return uint16((ms + 5) / 10), 100
	default:
		return uint16(min((ms+500)/1000, math.MaxUint16)), 1
	}
}

// chunk writes one PNG chunk whose data is the concatenation of parts.
func (a *apngWriter) chunk(typ string, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(n))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	if _, err := a.w.Write(hdr[:]); err != nil {
		return err
	}
	for _, p := range parts {
		crc.Write(p)
		if _, err := a.w.Write(p); err != nil {
			return err
		}
	}
	_, err := a.w.Write(binary.BigEndian.AppendUint32(a.crc[:0], crc.Sum32()))
	return err
}

func be32(b []byte, v ...uint32) []byte {
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

// compress returns the zlib stream of m's filtered RGBA scanlines, valid
// until the next call. Each row uses the PNG filter with the smallest sum of
// absolute (signed) residuals, the heuristic libpng and image/png use.
func (a *apngWriter) compress(m *image.NRGBA) ([]byte, error) {
	a.z.Reset()
	a.zw.Reset(&a.z)
	clear(a.prev)
	prev := a.prev
	b := m.Bounds()
	n := 4 * b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := m.PixOffset(b.Min.X, y)
		cur := m.Pix[i : i+n : i+n]
		if _, err := a.zw.Write(a.filterRow(cur, prev)); err != nil {
			return nil, err
		}
		prev = cur
	}
	if err := a.zw.Close(); err != nil {
		return nil, err
	}
	return a.z.Bytes(), nil
}

// filterRow returns the filter type byte followed by the filtered row.
func (a *apngWriter) filterRow(cur, prev []byte) []byte {
	const bpp = 4
	f := &a.filtered
	n := len(cur)
	none, sub, up, avg, pth := f[0][1:n+1], f[1][1:n+1], f[2][1:n+1], f[3][1:n+1], f[4][1:n+1]
	prev = prev[:n]
	copy(none, cur)
	var sums [5]int
	for i := range n {
		var left, upLeft uint8
		if i >= bpp {
			left, upLeft = cur[i-bpp], prev[i-bpp]
		}
		c, p := cur[i], prev[i]
		v0, v1, v2 := c, c-left, c-p
		v3 := c - uint8((int(left)+int(p))/2)
		v4 := c - paeth(left, p, upLeft)
		sub[i], up[i], avg[i], pth[i] = v1, v2, v3, v4
		sums[0] += absInt(int(int8(v0)))
		sums[1] += absInt(int(int8(v1)))
		sums[2] += absInt(int(int8(v2)))
		sums[3] += absInt(int(int8(v3)))
		sums[4] += absInt(int(int8(v4)))
	}
	best := 0
	for k, s := range sums {
		if s < sums[best] {
			best = k
		}
	}
	return f[best]
}

// paeth is the PNG Paeth predictor.
func paeth(a, b, c uint8) uint8 {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := absInt(p-int(a)), absInt(p-int(b)), absInt(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
