package render

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/stickerd/stickerd/render/media"
)

// Config is the engine's configuration. Start from DefaultConfig.
type Config struct {
	FFmpeg    string // ffmpeg binary
	FFprobe   string // ffprobe binary
	NvidiaSMI string // nvidia-smi binary; GPU detection is skipped when it is absent
	// WorkDir holds per-job scratch files (rendered text, converted
	// animations, partial outputs); each job gets its own folder, removed
	// when the job ends.
	WorkDir string
	// CacheDir holds the materialised built-in stickers.
	CacheDir string
	Limits   media.Limits
	// Timeout bounds one ffmpeg run; past it the job fails with FFMPEG_TIMEOUT.
	Timeout time.Duration
	// DisableGPU forces the CPU path even where a usable GPU exists.
	DisableGPU bool
	// Threads passes -threads to the encoder (0 = ffmpeg's choice).
	Threads int
	// RateControlAttempts bounds the encodes spent meeting max_bytes.
	RateControlAttempts int
}

// DefaultConfig returns a configuration for this machine.
func DefaultConfig() Config {
	tmp := filepath.Join(os.TempDir(), "stickerd")
	return Config{
		FFmpeg:              "ffmpeg",
		FFprobe:             "ffprobe",
		NvidiaSMI:           "nvidia-smi",
		WorkDir:             filepath.Join(tmp, "work"),
		CacheDir:            filepath.Join(tmp, "cache"),
		Limits:              media.DefaultLimits(),
		Timeout:             30 * time.Minute,
		RateControlAttempts: 4,
	}
}

// Validate reports a configuration the engine cannot run with.
func (c *Config) Validate() error {
	var errs []error
	if c.FFmpeg == "" || c.FFprobe == "" {
		errs = append(errs, errors.New("render: ffmpeg and ffprobe paths are required"))
	}
	if c.WorkDir == "" || c.CacheDir == "" {
		errs = append(errs, errors.New("render: WorkDir and CacheDir are required"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("render: Timeout must be positive"))
	}
	if c.RateControlAttempts < 1 {
		errs = append(errs, errors.New("render: RateControlAttempts must be at least 1"))
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
