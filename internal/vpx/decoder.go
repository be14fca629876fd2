package vpx

// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// ErrNoFrame is returned by Decode when the data produced no picture.
var ErrNoFrame = errors.New("vpx: no frame decoded")

// Decoder decodes VP8 frames to I420 images. Decode and Close may be
// called from different goroutines; Decode calls must not overlap.
type Decoder struct {
	mu  sync.Mutex
	dec *C.sd_dec
}

// NewDecoder opens a decoder using threads threads (0 means 1); Close frees it.
func NewDecoder(threads int) (*Decoder, error) {
	msg := make([]byte, errBuf)
	d := C.sd_dec_new(C.int(orDefault(threads, 1)), (*C.char)(unsafe.Pointer(&msg[0])), C.size_t(len(msg)))
	if d == nil {
		return nil, cErr(msg)
	}
	live.Add(1)
	return &Decoder{dec: d}, nil
}

// Decode decodes one compressed VP8 frame into dst, resizing dst to the
// frame's size. corrupt reports that the decoder concealed missing or bad
// data (the picture is usable but a keyframe should be requested).
func (d *Decoder) Decode(frame []byte, dst *Image) (corrupt bool, err error) {
	if len(frame) == 0 {
		return false, errors.New("vpx: empty frame")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dec == nil {
		return false, ErrClosed
	}
	var w, h, bad C.int
	switch C.sd_dec_decode(d.dec, ptr(frame), C.size_t(len(frame)), &w, &h, &bad) {
	case 1:
	case 0:
		return false, ErrNoFrame
	default:
		return false, fmt.Errorf("vpx: decode: %s", C.GoString(C.sd_dec_error(d.dec)))
	}
	if w <= 0 || h <= 0 || w > MaxSide || h > MaxSide {
		return false, fmt.Errorf("vpx: decoded size %dx%d out of range", w, h)
	}
	dst.Resize(int(w), int(h))
	C.sd_dec_copy(d.dec, ptr(dst.Y), ptr(dst.U), ptr(dst.V))
	return bad != 0, nil
}

// Close frees the decoder. It is safe to call more than once.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dec != nil {
		C.sd_dec_free(d.dec)
		d.dec = nil
		live.Add(-1)
	}
	return nil
}

// IsKeyframe reports whether a compressed VP8 frame is a keyframe (RFC
// 6386 §9.1: the frame tag's lowest bit is 0 for keyframes).
func IsKeyframe(frame []byte) bool { return len(frame) >= 3 && frame[0]&1 == 0 }

// KeyframeSize returns the picture size a VP8 keyframe declares (RFC 6386
// §9.1), so that a caller can refuse a huge stream before decoding it.
func KeyframeSize(frame []byte) (w, h int, ok bool) {
	if !IsKeyframe(frame) || len(frame) < 10 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	w = int(frame[6]) | int(frame[7]&0x3f)<<8
	h = int(frame[8]) | int(frame[9]&0x3f)<<8
	return w, h, true
}
