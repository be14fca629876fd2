package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/stickerd/stickerd/internal/fetch"
)

var (
	// ErrInvalidSecret is returned for a secret that is not
	// "whsec_<base64>" (the prefix is optional, as in the spec's
	// libraries).
	ErrInvalidSecret = errors.New("webhook: invalid secret")
	// ErrInvalidConfig is returned by Validate and NewSender.
	ErrInvalidConfig = errors.New("webhook: invalid config")
	// ErrMissingHeaders is returned by Verify when a webhook-* header is
	// absent.
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	// ErrInvalidTimestamp is returned by Verify for a timestamp that is
	// not a number or lies outside the tolerance: a replay, or a clock far
	// off.
	ErrInvalidTimestamp = errors.New("webhook: timestamp outside the tolerance")
	// ErrInvalidSignature is returned by Verify when no signature matches.
	ErrInvalidSignature = errors.New("webhook: no matching signature")
)

// AttemptError describes the last delivery attempt of a failed delivery.
// It is the cause inside the errcode WEBHOOK_FAILED error that Deliver
// returns.
type AttemptError struct {
	// Attempt is the 1-based number of the attempt.
	Attempt int
	// StatusCode is the receiver's HTTP status, 0 when none came back.
	StatusCode int
	// RetryAfter is the receiver's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Err is the transport error, nil when the receiver answered.
	Err error
}

func (e *AttemptError) Error() string {
	return fmt.Sprintf("attempt %d: %s", e.Attempt, e.reason())
}

// reason says what went wrong without the URL, whose path and query may
// hold the receiver's secrets.
func (e *AttemptError) reason() string {
	if e.Err == nil {
		return fmt.Sprintf("receiver answered HTTP %d", e.StatusCode)
	}
	var ue *url.Error
	if errors.As(e.Err, &ue) {
		return ue.Err.Error()
	}
	return e.Err.Error()
}

func (e *AttemptError) Unwrap() error { return e.Err }

// retryable reports whether another attempt may succeed: transport errors
// (timeouts, refused connections), 429 and 5xx. A refused destination
// address, a redirect and any other 4xx are final.
func (e *AttemptError) retryable() bool {
	if e.Err != nil {
		return !errors.Is(e.Err, fetch.ErrForbiddenAddress) && !errors.Is(e.Err, fetch.ErrNumericHost)
	}
	return e.StatusCode == 429 || e.StatusCode >= 500
}
