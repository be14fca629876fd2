package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/services/assets"
	"github.com/stickerd/stickerd/services/submit"
)

// Problem codes for conditions that belong to HTTP rather than to the
// rendering taxonomy of shared/API.md: no resource or route, a method the
// route lacks, a request that conflicts with a resource's state. They label
// no error metric and no alert.
const (
	CodeNotFound         errcode.Code = "NOT_FOUND"
	CodeMethodNotAllowed errcode.Code = "METHOD_NOT_ALLOWED"
	CodeConflict         errcode.Code = "CONFLICT"
)

// StatusOf is the one table from an error code to its HTTP status; only
// INTERNAL, a bug, is 500. A fault
// pins another status only where HTTP itself is the problem (413 and 415 for
// a request body) or where a code is about something a render request
// refers to (422 for an asset the spec names).
func StatusOf(code errcode.Code) int {
	switch code {
	case errcode.SpecInvalid:
		return http.StatusBadRequest
	case errcode.Unauthorized:
		return http.StatusUnauthorized
	case errcode.AssetNotFound, CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeConflict:
		return http.StatusConflict
	case errcode.AssetTooLarge:
		return http.StatusRequestEntityTooLarge
	case errcode.AssetUnsupported, errcode.AssetFetchFailed, errcode.SourceUnreadable, errcode.OutputTooLarge,
		errcode.RTCNegotiationFailed:
		return http.StatusUnprocessableEntity
	case errcode.RateLimited:
		return http.StatusTooManyRequests
	case errcode.QueueUnavailable, errcode.StateStoreUnavailable, errcode.StorageFailed, errcode.EncoderUnavailable,
		errcode.GPUError, errcode.WorkerLost, errcode.AttemptsExhausted, errcode.RTCMediaFailed:
		return http.StatusServiceUnavailable
	case errcode.FFmpegFailed, errcode.FFmpegTimeout, errcode.WebhookFailed:
		return http.StatusBadGateway // a tool or a peer the service drives failed
	case errcode.Canceled:
		return 499 // the client went away; nobody reads this answer
	}
	return http.StatusInternalServerError
}

// fault is a failed request on its way to becoming a problem response.
type fault struct {
	code       errcode.Code
	status     int // 0: StatusOf(code)
	detail     string
	fields     []errcode.FieldError
	retryAfter time.Duration
	cause      error // for the log only
}

func (f *fault) Error() string { return fmt.Sprintf("%s: %s", f.code, f.detail) }
func (f *fault) Unwrap() error { return f.cause }

func (f *fault) httpStatus() int {
	if f.status != 0 {
		return f.status
	}
	return StatusOf(f.code)
}

func newFault(code errcode.Code, format string, args ...any) *fault {
	return &fault{code: code, detail: fmt.Sprintf(format, args...)}
}

// withStatus pins the HTTP status of f.
func (f *fault) withStatus(status int) *fault { f.status = status; return f }

func errNoJob() *fault { return newFault(CodeNotFound, "no such job") }

// faultOf classifies any error a handler meets. Errors of collaborators
// map onto the taxonomy; anything unknown is INTERNAL, whose detail never
// shows the cause.
func faultOf(err error) *fault {
	var f *fault
	if errors.As(err, &f) {
		return f
	}
	var mbe *http.MaxBytesError
	var ee *errcode.Error
	switch {
	case errors.As(err, &mbe):
		return &fault{code: errcode.SpecInvalid, status: http.StatusRequestEntityTooLarge,
			detail: fmt.Sprintf("the request body is over the limit of %d bytes", mbe.Limit), cause: err}
	case errors.Is(err, jobstore.ErrUnavailable):
		return &fault{code: errcode.StateStoreUnavailable, detail: "the state store is unavailable; try again", cause: err}
	case errors.As(err, &ee):
		return &fault{code: ee.Code, detail: ee.Message, fields: ee.Fields, cause: err}
	case errors.Is(err, jobstore.ErrNotFound), errors.Is(err, submit.ErrNotFound):
		return &fault{code: CodeNotFound, detail: "no such job", cause: err}
	case errors.Is(err, submit.ErrFinished):
		return &fault{code: CodeConflict, detail: "the job has already finished", cause: err}
	case errors.Is(err, assets.ErrNotFound):
		return &fault{code: errcode.AssetNotFound, detail: "no such asset", cause: err}
	case errors.Is(err, blob.ErrNotFound):
		return &fault{code: CodeNotFound, detail: "the file is no longer stored", cause: err}
	case errors.Is(err, context.Canceled):
		return &fault{code: errcode.Canceled, detail: "the request was canceled", cause: err}
	}
	return &fault{code: errcode.Internal, detail: "an internal error occurred; it has been logged", cause: err}
}

// notFoundIfInvalid: a malformed job id names no job.
func notFoundIfInvalid(err error) error {
	if errors.Is(err, jobstore.ErrInvalid) {
		return errNoJob()
	}
	return err
}
