package gateway

import (
	"errors"
	"net/http"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/services/assets"
	"github.com/stickerd/stickerd/services/submit"
)

func errNoJob() *problem.Error { return problem.New(errcode.NotFound, "no such job") }

// problemOf classifies any error a handler meets. Errors of collaborators
// map onto the taxonomy; the rest is problem.From's (typed errors keep
// their code, anything unknown is INTERNAL, whose detail never shows the
// cause).
func problemOf(err error) *problem.Error {
	var pe *problem.Error
	var mbe *http.MaxBytesError
	var ce *errcode.Error
	switch {
	case errors.As(err, &pe), errors.As(err, &mbe):
		return problem.From(err)
	case errors.Is(err, jobstore.ErrUnavailable):
		return &problem.Error{Code: errcode.StateStoreUnavailable, Detail: "the state store is unavailable; try again", Cause: err}
	case errors.As(err, &ce):
		return problem.From(err)
	case errors.Is(err, jobstore.ErrNotFound), errors.Is(err, submit.ErrNotFound):
		return &problem.Error{Code: errcode.NotFound, Detail: "no such job", Cause: err}
	case errors.Is(err, submit.ErrFinished):
		return &problem.Error{Code: errcode.Conflict, Detail: "the job has already finished", Cause: err}
	case errors.Is(err, assets.ErrNotFound):
		return &problem.Error{Code: errcode.AssetNotFound, Detail: "no such asset", Cause: err}
	case errors.Is(err, blob.ErrNotFound):
		return &problem.Error{Code: errcode.NotFound, Detail: "the file is no longer stored", Cause: err}
	}
	return problem.From(err)
}

// notFoundIfInvalid: a malformed job id names no job.
func notFoundIfInvalid(err error) error {
	if errors.Is(err, jobstore.ErrInvalid) {
		return errNoJob()
	}
	return err
}
