package sharedstate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrInvalidConfig is returned by Validate and the constructors for a
	// Config that cannot work.
	ErrInvalidConfig = errors.New("sharedstate: invalid config")
	// ErrInvalidArgument is returned for a call that no backend could
	// honour: a non-positive TTL, a progress value outside [0, 1].
	ErrInvalidArgument = errors.New("sharedstate: invalid argument")
	// ErrUnavailable wraps every failure to reach the backing store. The
	// caller treats it as "feature off" (see the package documentation).
	ErrUnavailable = errors.New("sharedstate: backing store unavailable")
	// ErrCorrupt is returned when a stored value cannot be decoded, which
	// means another writer shares the key prefix.
	ErrCorrupt = errors.New("sharedstate: stored value is not ours")
)

func invalidConfig(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

func invalidArgument(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// storeError wraps a backend error for operation op. A canceled or expired
// ctx is reported as such, not as an outage, so that a client hanging up
// does not look like Redis going away.
func storeError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("sharedstate: %s: %w", op, ctxErr)
	}
	return fmt.Errorf("sharedstate: %s: %w: %w", op, ErrUnavailable, err)
}

// checkTTL refuses TTLs that Redis would refuse (or round to zero).
func checkTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return invalidArgument("ttl %s is under 1ms", ttl)
	}
	return nil
}
