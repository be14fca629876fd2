package webhook

import (
	"fmt"
	"time"

	"github.com/stickerd/stickerd/internal/backoff"
	"github.com/stickerd/stickerd/internal/clock"
)

// Config configures a Sender. Start from DefaultConfig; zero fields are
// replaced by their defaults, but Secret is required.
type Config struct {
	// Secret signs every message, "whsec_<base64>".
	Secret string
	// PreviousSecrets also sign every message while a rotation is under
	// way, so receivers still holding an old secret keep verifying.
	PreviousSecrets []string
	// Timeout bounds one attempt, connection to last response byte;
	// default 10s.
	Timeout time.Duration
	// MaxAttempts is the number of attempts, the first included;
	// default 6.
	MaxAttempts int
	// BackoffBase is the wait after the first failed attempt, doubled
	// after each further one (with jitter) up to BackoffMax; defaults 1s
	// and 5m. A receiver's Retry-After replaces the computed wait, capped
	// at BackoffMax.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// AllowPrivate lets webhooks reach loopback and private addresses
	// (tests, internal receivers). Off by default.
	AllowPrivate bool

	// Clock times the retries and stamps the signatures; nil is the real
	// clock. Tests pass a fake so a retry schedule of minutes takes
	// microseconds.
	Clock clock.Clock
}

// DefaultConfig returns a Config with every default filled in and no
// secret.
func DefaultConfig() Config {
	return Config{
		Timeout:     10 * time.Second,
		MaxAttempts: 6,
		BackoffBase: time.Second,
		BackoffMax:  5 * time.Minute,
		Clock:       clock.Real{},
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = d.BackoffBase
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = d.BackoffMax
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	return c
}

// Validate reports the first problem of the configuration, zero fields
// counting as their defaults.
func (c *Config) Validate() error {
	d := c.withDefaults()
	if d.Secret == "" {
		return fmt.Errorf("%w: secret is required", ErrInvalidConfig)
	}
	for i, s := range append([]string{d.Secret}, d.PreviousSecrets...) {
		if _, err := ParseSecret(s); err != nil {
			return fmt.Errorf("%w: secret %d: %w", ErrInvalidConfig, i, err)
		}
	}
	switch {
	case d.Timeout < 0:
		return fmt.Errorf("%w: timeout %s is negative", ErrInvalidConfig, d.Timeout)
	case d.MaxAttempts < 1:
		return fmt.Errorf("%w: max_attempts %d is under 1", ErrInvalidConfig, d.MaxAttempts)
	case d.BackoffBase < 0 || d.BackoffMax < d.BackoffBase:
		return fmt.Errorf("%w: backoff_base %s and backoff_max %s: want 0 <= base <= max", ErrInvalidConfig, d.BackoffBase, d.BackoffMax)
	}
	return nil
}

// retry is the backoff between attempts: BackoffBase doubled per attempt
// up to BackoffMax, with equal jitter (half fixed, half random).
func (c Config) retry() backoff.Policy {
	return backoff.Policy{Initial: c.BackoffBase, Max: c.BackoffMax, Multiplier: 2, Jitter: 0.5}
}
