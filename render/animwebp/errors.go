package animwebp

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Errors returned by this package wrap one of these (test
// with errors.Is), except for I/O errors from the caller's reader or writer,
// which are passed through wrapped.
var (
	// ErrNotWebP means the input does not start with a RIFF "WEBP" header.
	ErrNotWebP = errors.New("animwebp: not a WebP file")
	// ErrCorrupt means the input is truncated or structurally invalid.
	ErrCorrupt = errors.New("animwebp: corrupt WebP data")
	// ErrTooLarge means a Limits bound was exceeded; the message names it.
	ErrTooLarge = errors.New("animwebp: WebP exceeds decode limits")
	// ErrUnsupported means the input uses a feature this package cannot
	// decode (for example a VP8 bitstream that is not a key frame), or
	// frames an APNG cannot represent.
	ErrUnsupported = errors.New("animwebp: unsupported")
)

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func tooLargef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTooLarge, fmt.Sprintf(format, args...))
}

func unsupportedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// readErr maps a short read to ErrCorrupt and passes other I/O errors on.
func readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corruptf("truncated %s", what)
	}
	return fmt.Errorf("animwebp: reading %s: %w", what, err)
}

// frameErr adds a frame index to err, keeping its identity.
func frameErr(err error, i int) error {
	return fmt.Errorf("%w (frame %d)", err, i)
}
