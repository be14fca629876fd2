package vpx

// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// EncoderConfig sets up a VP8 encoder in realtime CBR mode.
type EncoderConfig struct {
	Width, Height int
	// BitrateKbps is the initial target bitrate.
	BitrateKbps int
	// Threads is how many threads libvpx may use (default 1).
	Threads int
	// CPUUsed trades quality for speed in realtime mode, 4..16 (default 10).
	CPUUsed int
	// KeyframeInterval is the most frames between automatic keyframes
	// (default 3000); keyframes are mainly forced on request.
	KeyframeInterval int
	// MaxIntraPct caps a keyframe's size as a percentage of the mean frame
	// size (default 300), so that a keyframe does not stall the link.
	MaxIntraPct int
}

// Encoder encodes I420 images to VP8 frames. Encode and Close may be
// called from different goroutines; Encode calls must not overlap.
type Encoder struct {
	mu  sync.Mutex
	enc *C.sd_enc
	w   int
	h   int
	out []byte
}

// NewEncoder opens an encoder; Close frees it.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxSide || cfg.Height > MaxSide {
		return nil, fmt.Errorf("vpx: encoder size %dx%d out of range (1..%d)", cfg.Width, cfg.Height, MaxSide)
	}
	if cfg.BitrateKbps <= 0 {
		return nil, errors.New("vpx: encoder bitrate must be positive")
	}
	p := C.sd_enc_params{
		width: C.int(cfg.Width), height: C.int(cfg.Height), kbps: C.int(cfg.BitrateKbps),
		threads: C.int(orDefault(cfg.Threads, 1)), cpu_used: C.int(orDefault(cfg.CPUUsed, 10)),
		kf_max_dist: C.int(orDefault(cfg.KeyframeInterval, 3000)), max_intra_pct: C.int(orDefault(cfg.MaxIntraPct, 300)),
	}
	msg := make([]byte, errBuf)
	e := C.sd_enc_new(&p, (*C.char)(unsafe.Pointer(&msg[0])), C.size_t(len(msg)))
	if e == nil {
		return nil, cErr(msg)
	}
	live.Add(1)
	return &Encoder{enc: e, w: cfg.Width, h: cfg.Height}, nil
}

// Size returns the frame size the encoder was opened for.
func (e *Encoder) Size() (w, h int) { return e.w, e.h }

// SetBitrate changes the target bitrate for the following frames.
func (e *Encoder) SetBitrate(kbps int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return ErrClosed
	}
	if kbps <= 0 {
		return errors.New("vpx: bitrate must be positive")
	}
	if C.sd_enc_set_bitrate(e.enc, C.int(kbps)) != 0 {
		return fmt.Errorf("vpx: set bitrate: %s", C.GoString(C.sd_enc_error(e.enc)))
	}
	return nil
}

// Encode compresses im, which must have the encoder's size, presented at
// ptsMillis for durMillis. forceKey asks for a keyframe. The returned slice
// is reused by the next Encode call.
func (e *Encoder) Encode(im *Image, ptsMillis int64, durMillis int, forceKey bool) (frame []byte, keyframe bool, err error) {
	if err := im.Validate(); err != nil {
		return nil, false, err
	}
	if im.Width != e.w || im.Height != e.h {
		return nil, false, fmt.Errorf("vpx: image is %dx%d, encoder expects %dx%d", im.Width, im.Height, e.w, e.h)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return nil, false, ErrClosed
	}
	var key C.int
	force := C.int(0)
	if forceKey {
		force = 1
	}
	n := C.sd_enc_encode(e.enc, ptr(im.Y), ptr(im.U), ptr(im.V), C.int(im.Width), C.int(im.ChromaWidth()),
		C.int64_t(ptsMillis), C.ulong(max(durMillis, 1)), force, &key)
	if n < 0 {
		return nil, false, fmt.Errorf("vpx: encode: %s", C.GoString(C.sd_enc_error(e.enc)))
	}
	e.out = grow(e.out, int(n))
	if n > 0 {
		copy(e.out, unsafe.Slice((*byte)(unsafe.Pointer(C.sd_enc_data(e.enc))), int(n)))
	}
	return e.out, key != 0, nil
}

// Close frees the encoder. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc != nil {
		C.sd_enc_free(e.enc)
		e.enc = nil
		live.Add(-1)
	}
	return nil
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
