package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/bits"
	"os"
	"strings"

	"github.com/stickerd/stickerd/render/animwebp"
)

// ErrUnmeasurable is wrapped by every error Measure returns: the file is
// missing, is not the format it was said to be, or its container is
// truncated, fragmented or structurally invalid. The message says which.
var ErrUnmeasurable = errors.New("media: output cannot be measured")

func unmeasurable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnmeasurable, fmt.Sprintf(format, args...))
}

// Measured is what a finished output file holds, read from its container.
type Measured struct {
	// Width and Height are the coded picture size of the video track (for
	// MP4 the sample entry's size, which is what ffprobe reports; the
	// track header's display size only when the sample entry has none).
	Width, Height int
	Frames        int     // video frames (samples) in the file
	Duration      float64 // seconds: the video track's duration (mp4/webm), the sum of frame delays (gif/webp)
	FPS           float64 // Frames / Duration (0 when Duration is 0)
	HasAudio      bool
	AudioDuration float64 // seconds, 0 without audio
	Bytes         int64
	// DataComplete says that the file holds all the data its index
	// promises. MP4: every chunk of every track (stco/co64 offset plus the
	// stsz sizes of the samples stsc puts in it) ends within the file.
	// WebM: the parse reached the declared end of the Segment (the end of
	// the file for an unknown-size Segment) without a truncated element.
	// GIF, PNG, JPEG: the file ends with its trailer (0x3B, IEND, EOI).
	// WebP: every RIFF chunk fits in the file.
	DataComplete bool
}

// Measure reads the file at path, written in format "mp4", "webm", "gif"
// or "webp" (also "png"/"jpg" single frames: Frames 1, Duration 0; an
// animated PNG reports its frames and delays). "mov", "mkv", "apng" and
// "jpeg" are accepted as aliases. It reads container headers and indexes
// only, never decodes a frame and never starts a process: an MP4's mdat is
// skipped by seeking, a WebM's blocks are read only as far as their
// headers.
func Measure(path, format string) (Measured, error) {
	f, err := os.Open(path)
	if err != nil {
		return Measured{}, fmt.Errorf("%w: %w", ErrUnmeasurable, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Measured{}, fmt.Errorf("%w: %w", ErrUnmeasurable, err)
	}
	if !st.Mode().IsRegular() {
		return Measured{}, unmeasurable("%s is not a regular file", path)
	}
	return measure(f, st.Size(), format)
}

// measure is Measure on any io.ReaderAt of size bytes.
func measure(r io.ReaderAt, size int64, format string) (Measured, error) {
	var (
		m   Measured
		err error
	)
	switch strings.ToLower(format) {
	case "mp4", "mov":
		m, err = measureMP4(r, size)
	case "webm", "mkv", "matroska":
		m, err = measureMatroska(r, size)
	case "gif":
		m, err = measureGIF(r, size)
	case "webp":
		m, err = measureWebP(r, size)
	case "png", "apng":
		m, err = measurePNG(r, size)
	case "jpg", "jpeg":
		m, err = measureJPEG(r, size)
	default:
		return Measured{}, unmeasurable("unknown format %q", format)
	}
	if err != nil {
		return Measured{}, err
	}
	m.Bytes = size
	if m.Duration > 0 {
		m.FPS = float64(m.Frames) / m.Duration
	}
	return m, nil
}

// measureReadErr turns an I/O error while reading what into an ErrUnmeasurable.
func measureReadErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return unmeasurable("truncated %s", what)
	}
	return fmt.Errorf("%w: reading %s: %w", ErrUnmeasurable, what, err)
}

// measureReadAt reads exactly n bytes at off.
func measureReadAt(r io.ReaderAt, off int64, n int, what string) ([]byte, error) {
	b := make([]byte, n)
	if k, err := r.ReadAt(b, off); k < n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, measureReadErr(err, what)
	}
	return b, nil
}

// measureEndsWith reports whether the file's last bytes are suffix.
func measureEndsWith(r io.ReaderAt, size int64, suffix []byte) bool {
	n := int64(len(suffix))
	if size < n {
		return false
	}
	b := make([]byte, n)
	k, _ := r.ReadAt(b, size-n)
	return int64(k) == n && bytes.Equal(b, suffix)
}

// ---- GIF, WebP, PNG, JPEG ----

func measureGIF(r io.ReaderAt, size int64) (Measured, error) {
	cfg, err := gif.DecodeConfig(io.NewSectionReader(r, 0, size))
	if err != nil {
		return Measured{}, unmeasurable("not a GIF: %v", err)
	}
	frames, dur, err := gifInfo(bufio.NewReader(io.NewSectionReader(r, 0, size)))
	if err != nil {
		return Measured{}, unmeasurable("GIF blocks: %v", err)
	}
	if frames == 0 {
		return Measured{}, unmeasurable("GIF without frames")
	}
	return Measured{Width: cfg.Width, Height: cfg.Height, Frames: frames, Duration: dur,
		DataComplete: measureEndsWith(r, size, []byte{0x3B})}, nil
}

func measureWebP(r io.ReaderAt, size int64) (Measured, error) {
	info, err := animwebp.Probe(r, size)
	if err != nil {
		return Measured{}, fmt.Errorf("%w: %w", ErrUnmeasurable, err)
	}
	return Measured{Width: info.Width, Height: info.Height, Frames: info.Frames,
		Duration: info.Duration.Seconds(), DataComplete: true}, nil
}

var measurePNGTrailer = []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}

func measurePNG(r io.ReaderAt, size int64) (Measured, error) {
	cfg, err := png.DecodeConfig(io.NewSectionReader(r, 0, size))
	if err != nil {
		return Measured{}, unmeasurable("not a PNG: %v", err)
	}
	m := Measured{Width: cfg.Width, Height: cfg.Height, Frames: 1, DataComplete: measureEndsWith(r, size, measurePNGTrailer)}
	if frames, dur := measureAPNG(r, size); frames > 1 {
		m.Frames, m.Duration = frames, dur
	}
	return m, nil
}

// measureAPNG counts the fcTL chunks of an animated PNG (one a frame) and
// sums their delays, reading chunk headers and the fixed-size acTL and
// fcTL bodies only. A PNG without acTL is one frame.
func measureAPNG(r io.ReaderAt, size int64) (frames int, dur float64) {
	var b [26]byte
	animated := false
	off := int64(8) // signature
	for i := 0; i < 1<<20 && size-off >= 12; i++ {
		if k, _ := r.ReadAt(b[:8], off); k < 8 {
			break
		}
		n, typ, body := int64(binary.BigEndian.Uint32(b[:4])), string(b[4:8]), off+8
		if n > size-body-4 { // body and CRC
			break
		}
		switch typ {
		case "acTL":
			animated = true
		case "fcTL":
			if n < 26 {
				break
			}
			if k, _ := r.ReadAt(b[:], body); k < 26 {
				break
			}
			num, den := float64(binary.BigEndian.Uint16(b[20:22])), float64(binary.BigEndian.Uint16(b[22:24]))
			if den == 0 {
				den = 100 // APNG: a zero denominator means 1/100 s
			}
			frames++
			dur += num / den
		}
		if typ == "IEND" {
			break
		}
		off = body + n + 4
	}
	if !animated {
		return 1, 0
	}
	return frames, dur
}

func measureJPEG(r io.ReaderAt, size int64) (Measured, error) {
	cfg, err := jpeg.DecodeConfig(bufio.NewReader(io.NewSectionReader(r, 0, size)))
	if err != nil {
		return Measured{}, unmeasurable("not a JPEG: %v", err)
	}
	return Measured{Width: cfg.Width, Height: cfg.Height, Frames: 1,
		DataComplete: measureEndsWith(r, size, []byte{0xFF, 0xD9})}, nil
}

// ---- MP4 (ISO BMFF) ----

const (
	mp4MaxTopBoxes = 4096     // top-level boxes walked before giving up
	mp4MaxMoov     = 64 << 20 // bytes of moov read into memory
	mp4MaxTracks   = 64
	mp4MaxSamples  = 1 << 31 // samples one track may claim
)

// mp4Track is what one trak box says.
type mp4Track struct {
	handler          string
	tkhdW, tkhdH     int // display size, integer part of 16.16
	entryW, entryH   int // visual sample entry size
	tkhdDur          uint64
	timescale        uint64
	mdhdDur          uint64
	sttsSamples      uint64
	sttsDur          uint64
	hasStts          bool
	stsz, stsc, stco []byte // table bodies after version/flags
	stz2             bool
	co64             bool
}

// mp4Boxes iterates the boxes in b (the payload of a container box), calling
// fn with each box's type and payload. A box of size 0 runs to the end of b.
func mp4Boxes(b []byte, fn func(typ string, body []byte) error) error {
	for len(b) > 0 {
		if len(b) < 8 {
			return unmeasurable("truncated box header")
		}
		n := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch n {
		case 0:
			n = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return unmeasurable("truncated %q box header", typ)
			}
			n, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if n < hdr || n > uint64(len(b)) {
			return unmeasurable("box %q size %d does not fit in its parent (%d bytes)", typ, n, len(b))
		}
		if err := fn(typ, b[hdr:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// mp4FullBox splits a full box's version from its body after version/flags.
func mp4FullBox(b []byte, typ string, min0, min1 int) (int, []byte, error) {
	if len(b) < 4 {
		return 0, nil, unmeasurable("truncated %s box", typ)
	}
	v := int(b[0])
	need := min0
	if v == 1 {
		need = min1
	}
	if v > 1 || len(b)-4 < need {
		return 0, nil, unmeasurable("%s box version %d, %d bytes", typ, v, len(b))
	}
	return v, b[4:], nil
}

func measureMP4(r io.ReaderAt, size int64) (Measured, error) {
	var moov []byte
	off := int64(0)
	for i := 0; off < size && moov == nil; i++ {
		if i >= mp4MaxTopBoxes {
			return Measured{}, unmeasurable("more than %d top-level boxes", mp4MaxTopBoxes)
		}
		if size-off < 8 {
			break // trailing bytes: a truncated file
		}
		h, err := measureReadAt(r, off, 8, "box header")
		if err != nil {
			return Measured{}, err
		}
		n := uint64(binary.BigEndian.Uint32(h))
		typ := string(h[4:])
		hdr := uint64(8)
		if i == 0 && !mp4TopLevel(typ) {
			return Measured{}, unmeasurable("not an MP4 file (first box %q)", mp4Printable(h[4:]))
		}
		switch n {
		case 0:
			n = uint64(size - off)
		case 1:
			h, err := measureReadAt(r, off+8, 8, "64-bit box size")
			if err != nil {
				return Measured{}, err
			}
			n, hdr = binary.BigEndian.Uint64(h), 16
		}
		if n < hdr {
			return Measured{}, unmeasurable("box %q size %d is smaller than its header", mp4Printable([]byte(typ)), n)
		}
		fits := n <= uint64(size-off)
		switch typ {
		case "moof", "mvex", "sidx", "styp":
			return Measured{}, unmeasurable("fragmented MP4 (%q box) is not supported", typ)
		case "moov":
			if !fits {
				return Measured{}, unmeasurable("moov box (%d bytes) is truncated at the end of the file", n)
			}
			if n-hdr > mp4MaxMoov {
				return Measured{}, unmeasurable("moov box of %d bytes exceeds %d", n, mp4MaxMoov)
			}
			if moov, err = measureReadAt(r, off+int64(hdr), int(n-hdr), "moov box"); err != nil {
				return Measured{}, err
			}
		}
		if !fits {
			break // a box running past the end: the file is truncated
		}
		off += int64(n)
	}
	if moov == nil {
		return Measured{}, unmeasurable("no moov box (truncated or not finished?)")
	}
	return mp4ParseMoov(moov, size)
}

func mp4TopLevel(typ string) bool {
	switch typ {
	case "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid", "styp", "sidx", "moof":
		return true
	}
	return false
}

func mp4Printable(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			c = '?'
		}
		s.WriteByte(c)
	}
	return s.String()
}

func mp4ParseMoov(moov []byte, size int64) (Measured, error) {
	var (
		tracks         []*mp4Track
		movieTimescale uint64
	)
	err := mp4Boxes(moov, func(typ string, body []byte) error {
		switch typ {
		case "mvex":
			return unmeasurable("fragmented MP4 (mvex box) is not supported")
		case "mvhd":
			v, b, err := mp4FullBox(body, "mvhd", 16, 28)
			if err != nil {
				return err
			}
			if v == 1 {
				movieTimescale = uint64(binary.BigEndian.Uint32(b[16:]))
			} else {
				movieTimescale = uint64(binary.BigEndian.Uint32(b[8:]))
			}
		case "trak":
			if len(tracks) >= mp4MaxTracks {
				return unmeasurable("more than %d tracks", mp4MaxTracks)
			}
			t, err := mp4ParseTrak(body)
			if err != nil {
				return err
			}
			tracks = append(tracks, t)
		}
		return nil
	})
	if err != nil {
		return Measured{}, err
	}
	var (
		m            Measured
		video, audio *mp4Track
	)
	m.DataComplete = true
	for _, t := range tracks {
		switch t.handler {
		case "vide":
			if video == nil {
				video = t
			}
		case "soun":
			if audio == nil {
				audio = t
			}
		}
		if !t.chunksFit(size) {
			m.DataComplete = false
		}
	}
	if video == nil {
		return Measured{}, unmeasurable("no video track in the moov box")
	}
	m.Width, m.Height = video.entryW, video.entryH
	if m.Width == 0 || m.Height == 0 {
		m.Width, m.Height = video.tkhdW, video.tkhdH
	}
	frames, dur, err := video.samples()
	if err != nil {
		return Measured{}, err
	}
	m.Frames, m.Duration = frames, dur
	if audio != nil {
		m.HasAudio = true
		// The presentation duration (after the edit list removed the
		// encoder's priming samples) is the track header's, in the movie
		// timescale; without one, the media's.
		if audio.tkhdDur > 0 && movieTimescale > 0 {
			m.AudioDuration = float64(audio.tkhdDur) / float64(movieTimescale)
		} else if _, d, err := audio.samples(); err == nil {
			m.AudioDuration = d
		}
	}
	return m, nil
}

// samples returns the track's sample count and duration in seconds, from
// the stts sums (mdhd and stsz when stts is absent).
func (t *mp4Track) samples() (int, float64, error) {
	if t.timescale == 0 {
		return 0, 0, unmeasurable("%s track with timescale 0", t.handler)
	}
	n, d := t.sttsSamples, t.sttsDur
	if !t.hasStts {
		if len(t.stsz) >= 8 {
			n = uint64(binary.BigEndian.Uint32(t.stsz[4:]))
		}
	}
	if d == 0 {
		d = t.mdhdDur
	}
	if n > mp4MaxSamples {
		return 0, 0, unmeasurable("%s track claims %d samples", t.handler, n)
	}
	return int(n), float64(d) / float64(t.timescale), nil
}

func mp4ParseTrak(trak []byte) (*mp4Track, error) {
	t := &mp4Track{}
	err := mp4Boxes(trak, func(typ string, body []byte) error {
		switch typ {
		case "tkhd":
			// ISO/IEC 14496-12 8.3.2: after version/flags, v0 has 4-byte
			// creation/modification times, track_ID, reserved, duration
			// (offset 20 of the box content), then reserved[2], layer,
			// alternate_group, volume, reserved, matrix[9] and width,
			// height at 76, 80; v1 has 8-byte times and duration
			// (duration at 28), putting width, height at 88, 92.
			v, _, err := mp4FullBox(body, "tkhd", 80, 92)
			if err != nil {
				return err
			}
			wo, do := 76, 20
			if v == 1 {
				wo, do = 88, 28
				t.tkhdDur = binary.BigEndian.Uint64(body[do:])
			} else {
				t.tkhdDur = uint64(binary.BigEndian.Uint32(body[do:]))
				if t.tkhdDur == math.MaxUint32 { // "unknown"
					t.tkhdDur = 0
				}
			}
			t.tkhdW = int(binary.BigEndian.Uint32(body[wo:]) >> 16)
			t.tkhdH = int(binary.BigEndian.Uint32(body[wo+4:]) >> 16)
		case "mdia":
			return mp4Boxes(body, func(typ string, body []byte) error {
				switch typ {
				case "hdlr":
					_, b, err := mp4FullBox(body, "hdlr", 8, 8)
					if err != nil {
						return err
					}
					t.handler = string(b[4:8])
				case "mdhd":
					v, b, err := mp4FullBox(body, "mdhd", 16, 28)
					if err != nil {
						return err
					}
					if v == 1 {
						t.timescale = uint64(binary.BigEndian.Uint32(b[16:]))
						t.mdhdDur = binary.BigEndian.Uint64(b[20:])
					} else {
						t.timescale = uint64(binary.BigEndian.Uint32(b[8:]))
						t.mdhdDur = uint64(binary.BigEndian.Uint32(b[12:]))
						if t.mdhdDur == math.MaxUint32 {
							t.mdhdDur = 0
						}
					}
				case "minf":
					return mp4Boxes(body, func(typ string, body []byte) error {
						if typ == "stbl" {
							return t.parseStbl(body)
						}
						return nil
					})
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (t *mp4Track) parseStbl(stbl []byte) error {
	return mp4Boxes(stbl, func(typ string, body []byte) error {
		var err error
		switch typ {
		case "stsd":
			// Visual sample entry (14496-12 12.1.3): size, type,
			// reserved[6], data_reference_index, pre_defined, reserved,
			// pre_defined[3], width, height: at 32 and 34 of the entry,
			// which starts after version/flags and entry_count.
			if len(body) >= 8+36 {
				t.entryW = int(binary.BigEndian.Uint16(body[8+32:]))
				t.entryH = int(binary.BigEndian.Uint16(body[8+34:]))
			}
		case "stts":
			_, b, err := mp4FullBox(body, "stts", 4, 4)
			if err != nil {
				return err
			}
			n := uint64(binary.BigEndian.Uint32(b))
			if n > uint64(len(b)-4)/8 {
				return unmeasurable("stts claims %d entries in %d bytes", n, len(b)-4)
			}
			t.hasStts, t.sttsSamples, t.sttsDur = true, 0, 0
			for i := uint64(0); i < n; i++ {
				e := b[4+8*i:]
				count := uint64(binary.BigEndian.Uint32(e))
				delta := uint64(binary.BigEndian.Uint32(e[4:]))
				t.sttsSamples += count // at most 2^32 entries of 2^32: no overflow
				hi, lo := bits.Mul64(count, delta)
				var carry uint64
				t.sttsDur, carry = bits.Add64(t.sttsDur, lo, 0)
				if hi != 0 || carry != 0 {
					return unmeasurable("stts duration overflows")
				}
			}
		case "stsz", "stz2":
			_, t.stsz, err = mp4FullBox(body, typ, 8, 8)
			t.stz2 = typ == "stz2"
		case "stsc":
			_, t.stsc, err = mp4FullBox(body, typ, 4, 4)
		case "stco", "co64":
			_, t.stco, err = mp4FullBox(body, typ, 4, 4)
			t.co64 = typ == "co64"
		}
		return err
	})
}

// sampleSize returns the size of sample i (0-based) from stsz/stz2.
func (t *mp4Track) sampleSize(i uint64) (uint64, bool) {
	if len(t.stsz) < 8 {
		return 0, false
	}
	count := uint64(binary.BigEndian.Uint32(t.stsz[4:]))
	if i >= count {
		return 0, false
	}
	tab := t.stsz[8:]
	if t.stz2 {
		switch t.stsz[3] { // field_size
		case 4:
			if i/2 >= uint64(len(tab)) {
				return 0, false
			}
			b := tab[i/2]
			if i%2 == 0 {
				return uint64(b >> 4), true
			}
			return uint64(b & 15), true
		case 8:
			if i >= uint64(len(tab)) {
				return 0, false
			}
			return uint64(tab[i]), true
		case 16:
			if i >= uint64(len(tab))/2 {
				return 0, false
			}
			return uint64(binary.BigEndian.Uint16(tab[2*i:])), true
		}
		return 0, false
	}
	if fixed := binary.BigEndian.Uint32(t.stsz); fixed != 0 {
		return uint64(fixed), true
	}
	if i >= uint64(len(tab))/4 {
		return 0, false
	}
	return uint64(binary.BigEndian.Uint32(tab[4*i:])), true
}

// chunksFit reports whether every chunk of the track, at its stco/co64
// offset and as long as the stsz sizes of the samples stsc assigns to it,
// ends within size bytes, and the tables agree on the sample count. The
// work is bounded by the tables' lengths.
func (t *mp4Track) chunksFit(size int64) bool {
	if len(t.stsz) < 8 {
		return len(t.stco) == 0 && t.sttsSamples == 0
	}
	samples := uint64(binary.BigEndian.Uint32(t.stsz[4:]))
	if samples == 0 {
		return true
	}
	if len(t.stco) < 4 || len(t.stsc) < 4 {
		return false
	}
	entry := uint64(4)
	if t.co64 {
		entry = 8
	}
	chunks := uint64(binary.BigEndian.Uint32(t.stco))
	if chunks > uint64(len(t.stco)-4)/entry {
		return false
	}
	nsc := uint64(binary.BigEndian.Uint32(t.stsc))
	if nsc == 0 || nsc > uint64(len(t.stsc)-4)/12 {
		return false
	}
	fixed := uint64(0)
	if !t.stz2 {
		fixed = uint64(binary.BigEndian.Uint32(t.stsz))
	}
	sample := uint64(0)
	for e := uint64(0); e < nsc; e++ {
		rec := t.stsc[4+12*e:]
		first := uint64(binary.BigEndian.Uint32(rec))
		spc := uint64(binary.BigEndian.Uint32(rec[4:]))
		last := chunks // last chunk (1-based) this entry covers
		if e+1 < nsc {
			last = uint64(binary.BigEndian.Uint32(t.stsc[4+12*(e+1):])) - 1
		}
		if first == 0 || last > chunks || last+1 < first {
			return false
		}
		for c := first; c <= last; c++ {
			var off uint64
			if t.co64 {
				off = binary.BigEndian.Uint64(t.stco[4+8*(c-1):])
			} else {
				off = uint64(binary.BigEndian.Uint32(t.stco[4+4*(c-1):]))
			}
			if spc > samples-sample {
				return false // stsc assigns more samples than stsz holds
			}
			var n uint64
			if fixed != 0 {
				hi, lo := bits.Mul64(fixed, spc)
				if hi != 0 {
					return false
				}
				n = lo
			} else {
				for k := uint64(0); k < spc; k++ {
					s, ok := t.sampleSize(sample + k)
					if !ok {
						return false
					}
					n += s // at most 2^31 samples of 2^32 bytes
				}
			}
			sample += spc
			if off > uint64(size) || n > uint64(size)-off {
				return false
			}
		}
	}
	return sample == samples
}

// ---- Matroska / WebM (EBML) ----

const (
	mkvEBML         = 0x1A45DFA3
	mkvSegment      = 0x18538067
	mkvSeekHead     = 0x114D9B74
	mkvInfo         = 0x1549A966
	mkvTimecodeScl  = 0x2AD7B1
	mkvDuration     = 0x4489
	mkvTracks       = 0x1654AE6B
	mkvTrackEntry   = 0xAE
	mkvTrackNumber  = 0xD7
	mkvTrackType    = 0x83
	mkvDefaultDur   = 0x23E383
	mkvVideo        = 0xE0
	mkvPixelWidth   = 0xB0
	mkvPixelHeight  = 0xBA
	mkvCluster      = 0x1F43B675
	mkvTimecode     = 0xE7
	mkvSimpleBlock  = 0xA3
	mkvBlockGroup   = 0xA0
	mkvBlock        = 0xA1
	mkvBlockDur     = 0x9B
	mkvDiscardPad   = 0x75A2
	mkvCodecDelay   = 0x56AA
	mkvCues         = 0x1C53BB6B
	mkvTags         = 0x1254C367
	mkvChapters     = 0x1043A770
	mkvAttachments  = 0x1941A469
	mkvMaxElements  = 1 << 22  // elements visited before giving up
	mkvMaxHeadBytes = 16 << 20 // Info or Tracks read into memory
	mkvMaxTracks    = 64
	mkvWindow       = 64 << 10 // read-ahead window for block headers
)

// mkvReader reads a Matroska file through a read-ahead window, so that the
// headers of consecutive small elements cost one ReadAt.
type mkvReader struct {
	r        io.ReaderAt
	size     int64
	buf      []byte
	bufOff   int64
	elements int
}

// at returns up to n bytes at off (fewer only at the end of the file).
func (p *mkvReader) at(off int64, n int) ([]byte, error) {
	if off < 0 || off > p.size {
		return nil, unmeasurable("offset %d outside the file", off)
	}
	n = int(min(int64(n), p.size-off))
	if off >= p.bufOff && off+int64(n) <= p.bufOff+int64(len(p.buf)) {
		return p.buf[off-p.bufOff : off-p.bufOff+int64(n)], nil
	}
	if p.buf == nil || cap(p.buf) < mkvWindow {
		p.buf = make([]byte, mkvWindow)
	}
	k := int(min(int64(mkvWindow), p.size-off))
	p.buf = p.buf[:k]
	if got, err := p.r.ReadAt(p.buf, off); got < k {
		p.buf = p.buf[:0]
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, measureReadErr(err, "Matroska data")
	}
	p.bufOff = off
	return p.buf[:n], nil
}

// mkvErrTruncated marks an element header cut off by the end of its parent.
var mkvErrTruncated = errors.New("truncated")

// mkvUnknown is the size of an element whose size field is all ones.
const mkvUnknown = -1

// header reads the element header at off, which must end before end. It
// returns the ID, the data offset and the data size (mkvUnknown).
func (p *mkvReader) header(off, end int64) (id uint32, data, size int64, err error) {
	if p.elements++; p.elements > mkvMaxElements {
		return 0, 0, 0, unmeasurable("more than %d elements", mkvMaxElements)
	}
	b, err := p.at(off, int(min(12, max(0, end-off))))
	if err != nil {
		return 0, 0, 0, err
	}
	if len(b) == 0 {
		return 0, 0, 0, mkvErrTruncated
	}
	idLen := bits.LeadingZeros8(b[0]) + 1
	if idLen > 4 {
		return 0, 0, 0, unmeasurable("invalid element ID at offset %d", off)
	}
	if len(b) < idLen+1 {
		return 0, 0, 0, mkvErrTruncated
	}
	if b[idLen] == 0 {
		return 0, 0, 0, unmeasurable("invalid size of element at offset %d", off)
	}
	if len(b) < idLen+bits.LeadingZeros8(b[idLen])+1 {
		return 0, 0, 0, mkvErrTruncated
	}
	for _, c := range b[:idLen] {
		id = id<<8 | uint32(c)
	}
	v, n, unknown, _ := ebmlVint(b[idLen:])
	data = off + int64(idLen+n)
	if unknown {
		return id, data, mkvUnknown, nil
	}
	if v > uint64(math.MaxInt64-data) {
		return 0, 0, 0, unmeasurable("element 0x%X size %d overflows", id, v)
	}
	return id, data, int64(v), nil
}

// ebmlVint decodes a variable-size integer with its length marker removed;
// unknown reports the all-ones value.
func ebmlVint(b []byte) (v uint64, n int, unknown, ok bool) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0, false, false
	}
	n = bits.LeadingZeros8(b[0]) + 1
	if len(b) < n {
		return 0, 0, false, false
	}
	v = uint64(b[0] & (0xFF >> n))
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n, v == 1<<(7*n)-1, true
}

func ebmlUint(b []byte) uint64 {
	var v uint64
	for _, c := range b[:min(len(b), 8)] {
		v = v<<8 | uint64(c)
	}
	return v
}

// mkvChildren iterates the elements of an in-memory master element.
func mkvChildren(b []byte, fn func(id uint32, body []byte) error) error {
	for len(b) > 0 {
		idLen := bits.LeadingZeros8(b[0]) + 1
		if idLen > 4 || len(b) < idLen+1 {
			return unmeasurable("invalid element header")
		}
		var id uint32
		for _, c := range b[:idLen] {
			id = id<<8 | uint32(c)
		}
		v, n, unknown, ok := ebmlVint(b[idLen:])
		if !ok || unknown || v > uint64(len(b)-idLen-n) {
			return unmeasurable("element 0x%X does not fit in its parent", id)
		}
		start := idLen + n
		if err := fn(id, b[start:start+int(v)]); err != nil {
			return err
		}
		b = b[start+int(v):]
	}
	return nil
}

type mkvTrack struct {
	number, typ, defaultDur uint64
	codecDelay              uint64 // ns
	width, height           uint64
}

// mkvBlocks is what the blocks of one track say, in TimecodeScale ticks.
type mkvBlocks struct {
	blocks, frames int
	minT, maxT     int64
	lastFrames     int   // frames in the block at maxT
	lastDur        int64 // its BlockDuration, -1 when absent
	lastDiscard    int64 // its DiscardPadding, ns
}

type mkvParser struct {
	mkvReader
	scale    uint64 // ns per tick
	duration float64
	tracks   []mkvTrack
	blocks   map[uint64]*mkvBlocks
	complete bool
}

func measureMatroska(r io.ReaderAt, size int64) (Measured, error) {
	p := &mkvParser{mkvReader: mkvReader{r: r, size: size}, scale: 1000000, blocks: map[uint64]*mkvBlocks{}}
	id, data, n, err := p.header(0, size)
	if err != nil || id != mkvEBML || n == mkvUnknown {
		return Measured{}, unmeasurable("not a Matroska/WebM file")
	}
	// Find the Segment after the EBML header.
	off := data + n
	for {
		if off >= size {
			return Measured{}, unmeasurable("no Segment element")
		}
		id, data, n, err = p.header(off, size)
		if err != nil {
			if errors.Is(err, mkvErrTruncated) {
				return Measured{}, unmeasurable("truncated before the Segment")
			}
			return Measured{}, err
		}
		if id == mkvSegment {
			break
		}
		if n == mkvUnknown {
			return Measured{}, unmeasurable("element 0x%X of unknown size before the Segment", id)
		}
		off = data + n
	}
	segEnd, declared := size, true
	if n != mkvUnknown {
		if n > size-data {
			declared = false // the Segment runs past the end of the file
		} else {
			segEnd = data + n
		}
	}
	reached, err := p.segment(data, segEnd)
	if err != nil {
		return Measured{}, err
	}
	p.complete = declared && reached
	return p.result()
}

// segment walks the Segment's children in [off, end) and reports whether
// it reached end without meeting a truncated element.
func (p *mkvParser) segment(off, end int64) (bool, error) {
	for off < end {
		id, data, n, err := p.header(off, end)
		if errors.Is(err, mkvErrTruncated) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if n == mkvUnknown {
			if id != mkvCluster {
				return false, unmeasurable("element 0x%X of unknown size in the Segment", id)
			}
			next, ok, err := p.cluster(data, end, true)
			if err != nil || !ok {
				return false, err
			}
			off = next
			continue
		}
		fits := n <= end-data
		switch id {
		case mkvInfo, mkvTracks:
			if !fits {
				return false, unmeasurable("truncated %s element", mkvName(id))
			}
			if n > mkvMaxHeadBytes {
				return false, unmeasurable("%s element of %d bytes", mkvName(id), n)
			}
			b, err := measureReadAt(p.r, data, int(n), mkvName(id))
			if err != nil {
				return false, err
			}
			if id == mkvInfo {
				err = p.info(b)
			} else {
				err = p.parseTracks(b)
			}
			if err != nil {
				return false, err
			}
		case mkvCluster:
			_, ok, err := p.cluster(data, min(data+n, end), false)
			if err != nil {
				return false, err
			}
			if !ok {
				return false, nil
			}
		}
		if !fits {
			return false, nil
		}
		off = data + n
	}
	return true, nil
}

func mkvName(id uint32) string {
	switch id {
	case mkvInfo:
		return "Info"
	case mkvTracks:
		return "Tracks"
	}
	return fmt.Sprintf("0x%X", id)
}

func (p *mkvParser) info(b []byte) error {
	return mkvChildren(b, func(id uint32, body []byte) error {
		switch id {
		case mkvTimecodeScl:
			if p.scale = ebmlUint(body); p.scale == 0 || len(body) > 8 {
				return unmeasurable("TimecodeScale %d", p.scale)
			}
		case mkvDuration:
			switch len(body) {
			case 0:
			case 4:
				p.duration = float64(math.Float32frombits(binary.BigEndian.Uint32(body)))
			case 8:
				p.duration = math.Float64frombits(binary.BigEndian.Uint64(body))
			default:
				return unmeasurable("Duration of %d bytes", len(body))
			}
			if math.IsNaN(p.duration) || math.IsInf(p.duration, 0) || p.duration < 0 {
				p.duration = 0
			}
		}
		return nil
	})
}

func (p *mkvParser) parseTracks(b []byte) error {
	return mkvChildren(b, func(id uint32, body []byte) error {
		if id != mkvTrackEntry {
			return nil
		}
		if len(p.tracks) >= mkvMaxTracks {
			return unmeasurable("more than %d tracks", mkvMaxTracks)
		}
		var t mkvTrack
		err := mkvChildren(body, func(id uint32, body []byte) error {
			switch id {
			case mkvTrackNumber:
				t.number = ebmlUint(body)
			case mkvTrackType:
				t.typ = ebmlUint(body)
			case mkvDefaultDur:
				t.defaultDur = ebmlUint(body)
			case mkvCodecDelay:
				t.codecDelay = ebmlUint(body)
			case mkvVideo:
				return mkvChildren(body, func(id uint32, body []byte) error {
					switch id {
					case mkvPixelWidth:
						t.width = ebmlUint(body)
					case mkvPixelHeight:
						t.height = ebmlUint(body)
					}
					return nil
				})
			}
			return nil
		})
		if err != nil {
			return err
		}
		p.tracks = append(p.tracks, t)
		return nil
	})
}

// mkvSegmentLevel reports IDs that end an unknown-size Cluster.
func mkvSegmentLevel(id uint32) bool {
	switch id {
	case mkvCluster, mkvCues, mkvTags, mkvInfo, mkvTracks, mkvSeekHead, mkvChapters, mkvAttachments, mkvEBML, mkvSegment:
		return true
	}
	return false
}

// cluster walks a Cluster's children in [off, end). An unknown-size
// Cluster ends at the first Segment-level element, whose offset is
// returned. ok is false when an element was cut off by end.
func (p *mkvParser) cluster(off, end int64, unknown bool) (next int64, ok bool, err error) {
	var tc int64
	for off < end {
		id, data, n, err := p.header(off, end)
		if errors.Is(err, mkvErrTruncated) {
			return off, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		if unknown && mkvSegmentLevel(id) {
			return off, true, nil
		}
		if n == mkvUnknown {
			return 0, false, unmeasurable("element 0x%X of unknown size in a Cluster", id)
		}
		if n > end-data {
			return off, false, nil // cut off: count only whole blocks
		}
		switch id {
		case mkvTimecode:
			b, err := p.at(data, int(min(n, 8)))
			if err != nil {
				return 0, false, err
			}
			v := ebmlUint(b)
			if v > 1<<53 || n > 8 {
				return 0, false, unmeasurable("Cluster Timecode %d", v)
			}
			tc = int64(v)
		case mkvSimpleBlock:
			if err := p.block(tc, data, n, -1, 0); err != nil {
				return 0, false, err
			}
		case mkvBlockGroup:
			if err := p.blockGroup(tc, data, data+n); err != nil {
				return 0, false, err
			}
		}
		off = data + n
	}
	return off, true, nil
}

func (p *mkvParser) blockGroup(tc, off, end int64) error {
	blockOff, blockLen, dur, discard := int64(-1), int64(0), int64(-1), int64(0)
	for off < end {
		id, data, n, err := p.header(off, end)
		if errors.Is(err, mkvErrTruncated) {
			return unmeasurable("truncated BlockGroup")
		}
		if err != nil {
			return err
		}
		if n == mkvUnknown || n > end-data {
			return unmeasurable("element 0x%X does not fit in its BlockGroup", id)
		}
		switch id {
		case mkvBlock:
			blockOff, blockLen = data, n
		case mkvBlockDur:
			b, err := p.at(data, int(min(n, 8)))
			if err != nil {
				return err
			}
			if v := ebmlUint(b); v < 1<<53 {
				dur = int64(v)
			}
		case mkvDiscardPad: // signed, ns
			b, err := p.at(data, int(min(n, 8)))
			if err != nil {
				return err
			}
			if len(b) > 0 {
				v := int64(ebmlUint(b)) << (64 - 8*len(b)) >> (64 - 8*len(b))
				discard = max(0, min(v, 1<<53))
			}
		}
		off = data + n
	}
	if blockOff < 0 {
		return unmeasurable("BlockGroup without a Block")
	}
	return p.block(tc, blockOff, blockLen, dur, discard)
}

// block reads a (Simple)Block header: track number, relative timecode,
// flags and, when laced, the frame count.
func (p *mkvParser) block(tc, off, n, dur, discard int64) error {
	b, err := p.at(off, int(min(n, 16)))
	if err != nil {
		return err
	}
	track, k, unknown, ok := ebmlVint(b)
	if !ok || unknown || len(b) < k+3 {
		return unmeasurable("invalid block header at offset %d", off)
	}
	t := tc + int64(int16(binary.BigEndian.Uint16(b[k:])))
	flags := b[k+2]
	frames := 1
	if flags&0x06 != 0 { // Xiph, fixed-size or EBML lacing
		if len(b) < k+4 {
			return unmeasurable("laced block without a frame count at offset %d", off)
		}
		frames = int(b[k+3]) + 1
	}
	s := p.blocks[track]
	if s == nil {
		if len(p.blocks) >= mkvMaxTracks {
			return unmeasurable("blocks of more than %d tracks", mkvMaxTracks)
		}
		s = &mkvBlocks{minT: t, maxT: t, lastDur: -1}
		p.blocks[track] = s
	}
	s.blocks++
	s.frames += frames
	s.minT = min(s.minT, t)
	if t >= s.maxT {
		s.maxT, s.lastFrames, s.lastDur, s.lastDiscard = t, frames, dur, discard
	}
	return nil
}

// seconds returns the duration a track's blocks cover: from the first
// block's timestamp to the end of the last, whose length is its
// BlockDuration, else its frames times DefaultDuration, else the average
// gap between frames; less the last block's DiscardPadding and the
// track's CodecDelay (the decoder's priming samples, as for Opus).
func (p *mkvParser) seconds(t mkvTrack, s *mkvBlocks) float64 {
	if s == nil || s.frames == 0 {
		return 0
	}
	scale := float64(p.scale)
	span := float64(s.maxT-s.minT) * scale // ns
	var tail float64
	switch {
	case s.lastDur >= 0:
		tail = float64(s.lastDur) * scale
	case t.defaultDur > 0:
		tail = float64(s.lastFrames) * float64(t.defaultDur)
	case s.frames > s.lastFrames:
		tail = float64(s.lastFrames) * span / float64(s.frames-s.lastFrames)
	}
	ns := span + tail - float64(s.lastDiscard) - float64(t.codecDelay)
	return max(0, ns) / 1e9
}

func (p *mkvParser) result() (Measured, error) {
	var (
		m            Measured
		video, audio *mkvTrack
	)
	for i := range p.tracks {
		t := &p.tracks[i]
		switch {
		case t.typ == 1 && video == nil:
			video = t
		case t.typ == 2 && audio == nil:
			audio = t
		}
	}
	if video == nil {
		return Measured{}, unmeasurable("no video track in the Tracks element")
	}
	if video.width > 1<<24 || video.height > 1<<24 {
		return Measured{}, unmeasurable("video track of %dx%d pixels", video.width, video.height)
	}
	m.Width, m.Height = int(video.width), int(video.height)
	if s := p.blocks[video.number]; s != nil {
		m.Frames = s.frames
		m.Duration = p.seconds(*video, s)
	}
	if m.Duration == 0 && m.Frames > 0 {
		m.Duration = p.duration * float64(p.scale) / 1e9
	}
	if audio != nil {
		m.HasAudio = true
		m.AudioDuration = p.seconds(*audio, p.blocks[audio.number])
	}
	m.DataComplete = p.complete
	return m, nil
}
