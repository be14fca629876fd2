package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
)

// jpegOrientation reads the EXIF orientation (1..8) of a JPEG from its
// APP1 segment; 0 when there is none. Only the segments before the image
// data are read.
func jpegOrientation(r io.Reader) int {
	br := bufio.NewReader(r)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return 0
	}
	for {
		var m [4]byte
		if _, err := io.ReadFull(br, m[:2]); err != nil || m[0] != 0xFF {
			return 0
		}
		marker := m[1]
		if marker == 0xD8 || marker >= 0xD0 && marker <= 0xD7 || marker == 0x01 {
			continue // no length
		}
		if marker == 0xDA || marker == 0xD9 { // image data or end: no EXIF before it
			return 0
		}
		if _, err := io.ReadFull(br, m[2:4]); err != nil {
			return 0
		}
		n := int(binary.BigEndian.Uint16(m[2:4])) - 2
		if n < 0 {
			return 0
		}
		if marker != 0xE1 || n < 14 || n > 1<<16 {
			if _, err := br.Discard(n); err != nil {
				return 0
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(br, seg); err != nil {
			return 0
		}
		if string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
	}
}

// tiffOrientation finds tag 0x0112 in IFD0 of an EXIF TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[off : off+2]))
	for i := 0; i < count; i++ {
		e := off + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:e+2]) == 0x0112 && bo.Uint16(t[e+2:e+4]) == 3 { // SHORT
			if v := int(bo.Uint16(t[e+8 : e+10])); v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// swapsSides reports whether an EXIF orientation turns the picture by a
// quarter, so its displayed width is its stored height.
func swapsSides(o int) bool { return o >= 5 && o <= 8 }

// UprightJPEG decodes the JPEG at src, applies its EXIF orientation and
// writes the upright picture to dst as PNG, so that every ffmpeg version
// draws it the same way (some apply EXIF orientation, some do not).
func UprightJPEG(src, dst string, orientation int) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := jpeg.Decode(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("media: decoding the JPEG: %w", err)
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(out, orient(img, orientation)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// orient applies an EXIF orientation: 2 mirrors, 3 turns half way, 4
// flips, 5 transposes, 6 turns clockwise, 7 transverses, 8 turns
// counter-clockwise (what a viewer does to show the picture upright).
func orient(src image.Image, o int) image.Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	in := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(in, in.Bounds(), src, b.Min, draw.Src)
	if o < 2 || o > 8 {
		return in
	}
	ow, oh := w, h
	if swapsSides(o) {
		ow, oh = h, w
	}
	out := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			si, di := in.PixOffset(x, y), out.PixOffset(dx, dy)
			copy(out.Pix[di:di+4], in.Pix[si:si+4])
		}
	}
	return out
}
