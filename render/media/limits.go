package media

import (
	"errors"
	"time"
)

// Limits bound what a probed file may be.
type Limits struct {
	MaxBytes       int64         // file size
	MaxWidth       int           // longest side, pixels
	MaxHeight      int           // shortest side, pixels
	MaxDuration    float64       // seconds, videos and animations
	MaxFrames      int           // animated images
	MaxFramePixels int64         // width*height*frames of an animated image
	ProbeTimeout   time.Duration // ffprobe wall time

	// MaxRenderBytes bounds the memory one render may ask of ffmpeg, as
	// the engine estimates it before starting: it grows with the output
	// frame, with each sticker's overlay (a moving one keeps output-sized
	// frames queued), with the stickers' size after scaling (a 1000-pixel
	// PNG at width 4.0 on a 4K output is a 15360-pixel frame in every
	// filter it passes) and with the frames looping animations hold. The
	// default keeps ffmpeg's peak under 2 GiB on the worst spec that
	// passes (a test measures it).
	MaxRenderBytes int64
}

// DefaultLimits are generous for short sticker videos yet keep a worker safe.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:       512 << 20,
		MaxWidth:       7680,
		MaxHeight:      4320,
		MaxDuration:    600,
		MaxFrames:      3000,
		MaxFramePixels: 1_500_000_000,
		ProbeTimeout:   20 * time.Second,

		MaxRenderBytes: 1792 << 20,
	}
}

// Validate reports a limit that is not positive.
func (l Limits) Validate() error {
	if l.MaxBytes <= 0 || l.MaxWidth <= 0 || l.MaxHeight <= 0 || l.MaxDuration <= 0 ||
		l.MaxFrames <= 0 || l.MaxFramePixels <= 0 || l.ProbeTimeout <= 0 ||
		l.MaxRenderBytes <= 0 {
		return errors.New("media: every limit must be positive")
	}
	return nil
}
