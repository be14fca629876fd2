package animwebp

import (
	"bytes"
	"encoding/binary"
	"image"

	"golang.org/x/image/webp"
)

// decodeFrame decodes the bitstream of f, found in data, into an NRGBA image
// of f.rect's size at the origin. It wraps the bitstream in a minimal
// standalone WebP file and hands that to golang.org/x/image/webp; sizes have
// already been checked against f.rect by parse, so nothing here allocates
// more than the frame needs.
func decodeFrame(data []byte, f frameRef) (m *image.NRGBA, err error) {
	file := standalone(data, f)
	defer func() {
		// x/image/webp is robust, but a panic on hostile input must not
		// take the caller down.
		if r := recover(); r != nil {
			m, err = nil, corruptf("bitstream decoder panicked: %v", r)
		}
	}()
	img, err := webp.Decode(bytes.NewReader(file))
	if err != nil {
		return nil, corruptf("decoding bitstream: %v", err)
	}
	if img.Bounds().Size() != f.rect.Size() {
		return nil, corruptf("bitstream decoded to %v, want %v", img.Bounds().Size(), f.rect.Size())
	}
	return toNRGBA(img)
}

func slice(data []byte, s span) []byte { return data[s.off : s.off+s.len] }

// standalone builds a still WebP holding f's bitstream: a plain VP8L or VP8
// file, or VP8X + ALPH + VP8 when the frame has an alpha chunk.
func standalone(data []byte, f frameRef) []byte {
	bits := slice(data, f.bits)
	var alph []byte
	if f.alph.len > 0 {
		alph = slice(data, f.alph)
	}
	size := 4 + 8 + len(bits) + len(bits)&1
	if alph != nil {
		size += 8 + 10 + 8 + len(alph) + len(alph)&1
	}
	buf := make([]byte, 0, 8+size)
	buf = append(buf, "RIFF"...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(size))
	buf = append(buf, "WEBP"...)
	if alph != nil {
		w, h := f.rect.Dx()-1, f.rect.Dy()-1
		buf = append(buf, "VP8X"...)
		buf = binary.LittleEndian.AppendUint32(buf, 10)
		buf = append(buf, 1<<4, 0, 0, 0, // alpha flag
			byte(w), byte(w>>8), byte(w>>16), byte(h), byte(h>>8), byte(h>>16))
		buf = appendChunk(buf, "ALPH", alph)
	}
	id := "VP8 "
	if f.lossless {
		id = "VP8L"
	}
	return appendChunk(buf, id, bits)
}

func appendChunk(buf []byte, id string, payload []byte) []byte {
	buf = append(buf, id...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(payload)))
	buf = append(buf, payload...)
	if len(payload)&1 != 0 {
		buf = append(buf, 0)
	}
	return buf
}

// toNRGBA converts the image types x/image/webp returns to an NRGBA image
// with its origin at (0, 0).
func toNRGBA(img image.Image) (*image.NRGBA, error) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.NRGBA:
		if b.Min == (image.Point{}) {
			return m, nil
		}
	case *image.YCbCr:
		if b.Min == (image.Point{}) && m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			return yuvToNRGBA(m, nil, 0), nil
		}
	case *image.NYCbCrA:
		if b.Min == (image.Point{}) && m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			return yuvToNRGBA(&m.YCbCr, m.A, m.AStride), nil
		}
	}
	if b.Empty() {
		return nil, corruptf("empty image")
	}
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(x-b.Min.X, y-b.Min.Y, img.At(x, y))
		}
	}
	return out, nil
}

// VP8 stores limited-range ("studio swing") BT.601 YUV, but Go's image.YCbCr
// colour conversion assumes full-range JPEG YCbCr, which washes lossy WebP
// out (golang/go#40173). So lossy frames are converted here with libwebp's
// own fixed-point arithmetic and its "fancy" chroma upsampling (the decoder
// default, used by dwebp, WebPAnimDecoder and browsers), which makes the
// output match libwebp bit for bit.

// yuvToNRGBA converts a 4:2:0 VP8 frame whose Rect starts at (0, 0), plus
// an optional alpha plane with stride aStride.
func yuvToNRGBA(m *image.YCbCr, a []byte, aStride int) *image.NRGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	cw, ch := (w+1)/2, (h+1)/2
	for y := 0; y < h; y++ {
		// Each output row interpolates its nearest chroma row (weight 3)
		// with the next-nearest one (weight 1), mirroring at the edges.
		var near, far int
		switch {
		case y == 0:
		case y&1 == 1:
			near, far = y/2, min(y/2+1, ch-1)
		default:
			near, far = y/2, y/2-1
		}
		nu := m.Cb[near*m.CStride : near*m.CStride+cw]
		nv := m.Cr[near*m.CStride : near*m.CStride+cw]
		fu := m.Cb[far*m.CStride : far*m.CStride+cw]
		fv := m.Cr[far*m.CStride : far*m.CStride+cw]
		dst := out.Pix[y*out.Stride : y*out.Stride+4*w]
		upsampleRow(dst, m.Y[y*m.YStride:y*m.YStride+w], nu, nv, fu, fv)
		if a != nil {
			for x, v := range a[y*aStride : y*aStride+w] {
				dst[4*x+3] = v
			}
		}
	}
	return out
}

// upsampleRow is libwebp's UPSAMPLE_FUNC for one output row: n is the
// near chroma row, f the far one.
func upsampleRow(dst, ys, nu, nv, fu, fv []byte) {
	w := len(ys)
	edge := func(x, c int) {
		u := (3*int(nu[c]) + int(fu[c]) + 2) >> 2
		v := (3*int(nv[c]) + int(fv[c]) + 2) >> 2
		yuvToRGBA(dst[4*x:4*x+4], int(ys[x]), u, v)
	}
	edge(0, 0)
	for x := 1; x <= (w-1)>>1; x++ {
		u0, u1 := diag(nu[x-1], nu[x], fu[x-1], fu[x])
		v0, v1 := diag(nv[x-1], nv[x], fv[x-1], fv[x])
		yuvToRGBA(dst[8*x-4:8*x], int(ys[2*x-1]), u0, v0)
		yuvToRGBA(dst[8*x:8*x+4], int(ys[2*x]), u1, v1)
	}
	if w&1 == 0 {
		edge(w-1, (w-1)>>1)
	}
}

// diag interpolates the two pixels between chroma columns 0 and 1 (9-3-3-1
// weights) from near samples n0, n1 and far samples f0, f1.
func diag(n0, n1, f0, f1 byte) (int, int) {
	avg := int(n0) + int(n1) + int(f0) + int(f1) + 8
	dA := (avg + 2*(int(n1)+int(f0))) >> 3
	dB := (avg + 2*(int(n0)+int(f1))) >> 3
	return (dA + int(n0)) >> 1, (dB + int(n1)) >> 1
}

// yuvToRGBA is libwebp's VP8YuvToRgb (src/dsp/yuv.h); alpha is set opaque.
func yuvToRGBA(dst []byte, y, u, v int) {
	yy := y * 19077 >> 8
	dst[0] = clip8(yy + v*26149>>8 - 14234)
	dst[1] = clip8(yy - u*6419>>8 - v*13320>>8 + 8708)
	dst[2] = clip8(yy + u*33050>>8 - 17685)
	dst[3] = 0xff
}

func clip8(v int) byte {
	const mask = 256<<6 - 1
	if v&^mask == 0 {
		return byte(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 0xff
}
