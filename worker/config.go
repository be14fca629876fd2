package worker

import (
	"errors"
	"os"
	"runtime"
	"time"

	"github.com/stickerd/stickerd/internal/backoff"
	"github.com/stickerd/stickerd/internal/blob"
)

// Config configures a worker. Start from DefaultConfig.
type Config struct {
	ID          string
	Schedulers  []string // gRPC addresses of the scheduler replicas
	Concurrency int      // renders at once
	WorkDir     string   // scratch space for renders and downloads
	// ReconnectMin and ReconnectMax bound the reconnect backoff, which
	// doubles per failed try; ReconnectJitter is its random fraction
	// (internal/backoff), so a fleet that lost its scheduler together does
	// not reconnect in step.
	ReconnectMin, ReconnectMax time.Duration
	ReconnectJitter            float64
	// ProgressInterval throttles progress messages per job.
	ProgressInterval time.Duration
	// ResendAfter is how long a report waits for its Ack before it is sent again.
	ResendAfter time.Duration
	// DrainTimeout bounds a graceful drain; jobs still running then are handed back.
	DrainTimeout time.Duration
	// MaxDownloadBytes bounds a URL asset.
	MaxDownloadBytes int64
	// AllowPrivateURLs lets URL assets come from private addresses (tests, internal servers).
	AllowPrivateURLs bool
	// ScratchBytes bounds the scratch cache (WorkDir/scratch/<ID>) that
	// keeps a remote blob store's assets between jobs, least recently used
	// evicted first (blob.Scratch); 0: blob.DefaultScratchBytes. A local
	// store's files are read in place.
	ScratchBytes int64
}

// DefaultConfig sizes the worker to the machine: one render per two cores
// (ffmpeg itself is multi-threaded), at least one.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		ID:               "worker-" + host,
		Schedulers:       []string{"127.0.0.1:9095"},
		Concurrency:      max(1, runtime.NumCPU()/2),
		WorkDir:          os.TempDir(),
		ReconnectMin:     100 * time.Millisecond,
		ReconnectMax:     5 * time.Second,
		ReconnectJitter:  0.2,
		ProgressInterval: 250 * time.Millisecond,
		ResendAfter:      3 * time.Second,
		DrainTimeout:     60 * time.Second,
		MaxDownloadBytes: 512 << 20,
		ScratchBytes:     blob.DefaultScratchBytes,
	}
}

// Validate reports settings the worker cannot run with.
func (c *Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("worker: ID is required"))
	}
	if len(c.Schedulers) == 0 {
		errs = append(errs, errors.New("worker: at least one scheduler address is required"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, errors.New("worker: Concurrency must be at least 1"))
	}
	if c.WorkDir == "" {
		errs = append(errs, errors.New("worker: WorkDir is required"))
	}
	if c.ReconnectMin <= 0 || c.ReconnectMax < c.ReconnectMin {
		errs = append(errs, errors.New("worker: need 0 < ReconnectMin <= ReconnectMax"))
	}
	if c.ReconnectJitter < 0 || c.ReconnectJitter > 1 {
		errs = append(errs, errors.New("worker: ReconnectJitter must be in [0,1]"))
	}
	if c.ScratchBytes < 0 {
		errs = append(errs, errors.New("worker: ScratchBytes must not be negative"))
	}
	if c.ProgressInterval <= 0 || c.ResendAfter <= 0 || c.DrainTimeout <= 0 {
		errs = append(errs, errors.New("worker: intervals must be positive"))
	}
	return errors.Join(errs...)
}

// reconnect is the backoff between sessions: Delay(n) after the n-th
// failed try in a row.
func (c *Config) reconnect() backoff.Policy {
	return backoff.Policy{Initial: c.ReconnectMin, Max: c.ReconnectMax, Multiplier: 2, Jitter: c.ReconnectJitter}
}
