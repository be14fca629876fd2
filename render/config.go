package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
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
	// CacheDir holds the materialised built-in stickers, the fonts drawtext
	// reads and the remembered ffmpeg capability probe.
	//
	// ffmpeg reads files from both by name, so New requires each to be
	// private to this user: it creates a missing one with mode 0700,
	// closes one of ours that group or others can write to, and refuses a
	// shared one (like /tmp itself) or another user's.
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

// DefaultConfig returns a configuration for this machine. Its CacheDir is
// this user's, os.UserCacheDir()/stickerd (~/.cache/stickerd), with
// WorkDir inside it; where there is no usable home, both go under a
// per-user folder in the temporary directory, $TMPDIR/stickerd-<uid>.
func DefaultConfig() Config {
	base := defaultBaseDir()
	return Config{
		FFmpeg:              "ffmpeg",
		FFprobe:             "ffprobe",
		NvidiaSMI:           "nvidia-smi",
		WorkDir:             filepath.Join(base, "work"),
		CacheDir:            base,
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

// defaultBaseDir is this user's cache directory for stickerd, or, when the
// user has none that could be created (no $HOME, or a read-only one), a
// per-user folder in the temporary directory. It creates nothing: New
// does, and checks the result.
func defaultBaseDir() string {
	if d, err := os.UserCacheDir(); err == nil && filepath.IsAbs(d) && creatable(filepath.Join(d, "stickerd")) {
		return filepath.Join(d, "stickerd")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("stickerd-%d", os.Geteuid()))
}

// creatable reports whether dir exists as a directory or this user may
// create it in its nearest existing parent.
func creatable(dir string) bool {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			return fi.IsDir() && syscall.Access(p, 0o2|0o1) == nil // W_OK|X_OK
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(p) == p {
			return false
		}
	}
}
