package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"os"
)

// errNotPicture means the header reader does not know the format; the
// caller falls back to ffprobe.
var errNotPicture = errors.New("media: not a picture format read in Go")

// probePicture reads PNG (and APNG), JPEG and GIF headers in Go, without
// decoding pixels and without starting ffprobe: stickers are probed in
// microseconds. Frame counts of GIFs come from walking the block structure.
func probePicture(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return Info{}, errNotPicture
	}
	info := Info{Kind: KindImage, Width: cfg.Width, Height: cfg.Height, Frames: 1, Container: format, Codec: format}
	switch format {
	case "png":
		info.HasAlpha = true
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Info{}, err
		}
		if frames, dur, ok := apngInfo(f); ok && frames > 1 {
			info.Kind, info.Frames, info.Duration, info.Codec, info.Container = KindAnimated, frames, dur, "apng", "apng"
		}
	case "gif":
		info.HasAlpha = true
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Info{}, err
		}
		frames, dur, err := gifInfo(bufio.NewReader(f))
		if err != nil {
			return Info{}, errNotPicture
		}
		if frames > 1 {
			info.Kind, info.Frames, info.Duration = KindAnimated, frames, dur
		}
	case "jpeg":
		info.Codec = "mjpeg"
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Info{}, err
		}
		info.Orientation = jpegOrientation(f)
		if swapsSides(info.Orientation) {
			info.Width, info.Height = info.Height, info.Width
		}
	default:
		return Info{}, errNotPicture
	}
	return info, nil
}

// apngInfo reads the acTL chunk and sums the fcTL delays of an APNG.
func apngInfo(r io.Reader) (frames int, dur float64, ok bool) {
	br := bufio.NewReader(r)
	sig := make([]byte, 8)
	if _, err := io.ReadFull(br, sig); err != nil || !bytes.Equal(sig, []byte("\x89PNG\r\n\x1a\n")) {
		return 0, 0, false
	}
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			return frames, dur, frames > 0
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		typ := string(hdr[4:8])
		if n > 1<<26 {
			return 0, 0, false
		}
		switch typ {
		case "acTL", "fcTL":
			body := make([]byte, n)
			if _, err := io.ReadFull(br, body); err != nil {
				return 0, 0, false
			}
			if typ == "acTL" && n >= 8 {
				frames = int(binary.BigEndian.Uint32(body[0:4]))
			}
			if typ == "fcTL" && n >= 26 {
				num, den := float64(binary.BigEndian.Uint16(body[20:22])), float64(binary.BigEndian.Uint16(body[22:24]))
				if den == 0 {
					den = 100
				}
				dur += num / den
			}
			if _, err := br.Discard(4); err != nil { // CRC
				return 0, 0, false
			}
		case "IEND":
			return frames, dur, frames > 0
		default:
			if _, err := br.Discard(int(n) + 4); err != nil {
				return frames, dur, frames > 0
			}
		}
	}
}

// gifInfo counts a GIF's frames and sums their delays by walking its
// blocks, skipping the image data.
func gifInfo(br *bufio.Reader) (frames int, dur float64, err error) {
	hdr := make([]byte, 13)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return 0, 0, err
	}
	if hdr[10]&0x80 != 0 { // global colour table
		if _, err := br.Discard(3 << (int(hdr[10]&7) + 1)); err != nil {
			return 0, 0, err
		}
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			return frames, dur, nil // truncated trailer: count what we saw
		}
		switch b {
		case 0x3B: // trailer
			return frames, dur, nil
		case 0x21: // extension
			label, err := br.ReadByte()
			if err != nil {
				return 0, 0, err
			}
			if label == 0xF9 { // graphic control: delay in 1/100 s
				// A sub-block of (normally) 4 bytes: flags, delay, index;
				// then the terminator, which skipSubBlocks consumes.
				n, err := br.ReadByte()
				if err != nil {
					return 0, 0, err
				}
				gce := make([]byte, n)
				if _, err := io.ReadFull(br, gce); err != nil {
					return 0, 0, err
				}
				if n >= 3 {
					dur += float64(binary.LittleEndian.Uint16(gce[1:3])) / 100
				}
				if err := skipSubBlocks(br); err != nil {
					return 0, 0, err
				}
				continue
			}
			if err := skipSubBlocks(br); err != nil {
				return 0, 0, err
			}
		case 0x2C: // image descriptor
			desc := make([]byte, 9)
			if _, err := io.ReadFull(br, desc); err != nil {
				return 0, 0, err
			}
			if desc[8]&0x80 != 0 {
				if _, err := br.Discard(3 << (int(desc[8]&7) + 1)); err != nil {
					return 0, 0, err
				}
			}
			if _, err := br.ReadByte(); err != nil { // LZW minimum code size
				return 0, 0, err
			}
			if err := skipSubBlocks(br); err != nil {
				return 0, 0, err
			}
			frames++
		default:
			return 0, 0, errors.New("media: bad GIF block")
		}
	}
}

func skipSubBlocks(br *bufio.Reader) error {
	for {
		n, err := br.ReadByte()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := br.Discard(int(n)); err != nil {
			return err
		}
	}
}
