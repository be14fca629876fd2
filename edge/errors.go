package edge

import (
	"errors"
	"fmt"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
)

// Errors a session ends with, reported to OnClose-style hooks and logs.
var (
	// ErrEdgeClosed: the edge is shutting down.
	ErrEdgeClosed = errors.New("edge: closed")
	// ErrIdle: no media arrived for Config.IdleTimeout.
	ErrIdle = errors.New("edge: session idle")
	// ErrICEFailed: the ICE connection failed.
	ErrICEFailed = errors.New("edge: ICE connection failed")
	// ErrDeleted: the client ended the session with DELETE.
	ErrDeleted = errors.New("edge: session deleted")
)

// Signaling answers its errors with internal/problem, the writer and the
// status table (errcode.Status) the gateway uses, so that the same error
// is the same answer from either. The rule (docs/api.md, "Errors"):
//
//   - a body that is not what it claims to be (not SDP, an SDP line a
//     trickle fragment cannot hold, a candidate that does not parse) is
//     malformed: 400 SPEC_INVALID, or 413/415 for its size or media type;
//   - a well-formed offer or fragment that cannot be negotiated (no
//     sendrecv VP8 video, a candidate the policy refuses, an ICE restart,
//     one the peer connection refuses) is 422 RTC_NEGOTIATION_FAILED;
//   - an edge that cannot take a session now (full, shutting down, ICE
//     gathering timed out) is 503 RTC_MEDIA_FAILED, as the gateway answers
//     when no edge has room; a tenant at its own limit is 429 RATE_LIMITED.

// malformed is a request body that is not what it claims to be.
func malformed(format string, args ...any) *problem.Error {
	return problem.New(errcode.SpecInvalid, format, args...)
}

// negotiationFailed is a well-formed offer or fragment that cannot be
// negotiated.
func negotiationFailed(format string, args ...any) *problem.Error {
	return problem.New(errcode.RTCNegotiationFailed, format, args...)
}

// internalError is a failure of the edge itself; the client sees only
// that it happened.
func internalError(what string, cause error) *problem.Error {
	return &problem.Error{Code: errcode.Internal, Detail: problem.InternalDetail, Cause: fmt.Errorf("%s: %w", what, cause)}
}

// unavailable: this edge cannot take a session now; try again after
// retryAfter (on this edge or, through the gateway, another).
func (e *Edge) unavailable(detail string) *problem.Error {
	return problem.New(errcode.RTCMediaFailed, "%s", detail).WithRetryAfter(e.cfg.RetryAfter)
}
