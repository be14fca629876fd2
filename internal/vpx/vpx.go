package vpx

// #cgo pkg-config: vpx
// #include <malloc.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// MaxSide is the largest width or height this package encodes or decodes.
const MaxSide = 4096

// ErrClosed is returned by a codec used after Close.
var ErrClosed = errors.New("vpx: codec closed")

// live counts codec contexts created and not yet closed.
var live atomic.Int64

// Live returns the number of encoder and decoder contexts that are open now
// (created and not yet closed), across the process.
func Live() int64 { return live.Load() }

// errBuf is the size of the C buffer that constructors write errors into.
const errBuf = 256

func cErr(buf []byte) error {
	n := 0
	for n < len(buf) && buf[n] != 0 {
		n++
	}
	return errors.New("vpx: " + string(buf[:n]))
}

// ptr returns a C pointer to b's first byte; b must not be empty.
func ptr(b []byte) *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(&b[0])) }

// CHeapInUse returns the bytes the C heap (glibc malloc) has handed out
// and not yet freed, libvpx's buffers included: a number that stays flat
// when codecs are opened and closed without leaking.
func CHeapInUse() int64 {
	m := C.mallinfo2()
	return int64(m.uordblks) + int64(m.hblkhd)
}

// ReleaseMemory returns the C heap's free pages to the operating system.
// glibc keeps freed memory in per-thread arenas, so after many codecs
// were opened and closed on different threads the process's RSS stays
// high until this runs (malloc_trim).
func ReleaseMemory() { C.malloc_trim(0) }

// Image is a tightly packed I420 (YUV 4:2:0, 8-bit) picture: Y has stride
// Width, U and V have stride ChromaWidth() and ChromaHeight() rows.
type Image struct {
	Width, Height int
	Y, U, V       []byte
}

// NewImage allocates a w×h image.
func NewImage(w, h int) *Image {
	im := &Image{}
	im.Resize(w, h)
	return im
}

// ChromaWidth is the width of the U and V planes.
func (im *Image) ChromaWidth() int { return (im.Width + 1) / 2 }

// ChromaHeight is the height of the U and V planes.
func (im *Image) ChromaHeight() int { return (im.Height + 1) / 2 }

// Resize sets the size, reusing the planes' memory when it is large enough.
// The pixels are unspecified afterwards.
func (im *Image) Resize(w, h int) {
	im.Width, im.Height = w, h
	cw, ch := (w+1)/2, (h+1)/2
	im.Y = grow(im.Y, w*h)
	im.U = grow(im.U, cw*ch)
	im.V = grow(im.V, cw*ch)
}

// Fill paints the whole image one colour.
func (im *Image) Fill(y, u, v byte) {
	fill(im.Y, y)
	fill(im.U, u)
	fill(im.V, v)
}

// Validate reports whether the planes are large enough for the size.
func (im *Image) Validate() error {
	if im.Width <= 0 || im.Height <= 0 || im.Width > MaxSide || im.Height > MaxSide {
		return fmt.Errorf("vpx: image size %dx%d out of range (1..%d)", im.Width, im.Height, MaxSide)
	}
	c := im.ChromaWidth() * im.ChromaHeight()
	if len(im.Y) < im.Width*im.Height || len(im.U) < c || len(im.V) < c {
		return fmt.Errorf("vpx: image planes too small for %dx%d", im.Width, im.Height)
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}
