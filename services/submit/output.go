package submit

import (
	"context"
	"errors"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
)

// ErrNoOutput is returned when deleting the output of a job that has none
// (it has not succeeded).
var ErrNoOutput = errors.New("submit: the job has no output")

// MarkOutputDeleted is the first step of deleting a tenant's job's output
// (DELETE /v1/renders/{id}/output): the record is marked
// (output_deleted_at), so that downloads answer 410 from now on; the
// caller then deletes the file and calls OutputFileDeleted. A crash
// between the steps is finished by the scheduler leader's next retention
// sweep. It returns the record, and whether this call marked it (false:
// it was already). ErrNotFound for no job of the tenant's, ErrNoOutput for
// a job that has not succeeded.
func (s *Submitter) MarkOutputDeleted(ctx context.Context, tenant string, id jobs.ID) (*jobs.Job, bool, error) {
	marked := false
	var seen *jobs.Job
	j, err := s.Store.Update(ctx, id, func(j *jobs.Job) error {
		marked, seen = false, j.Clone()
		switch {
		case !j.OwnedBy(tenant):
			return ErrNotFound
		case j.Status != jobs.Succeeded || j.Output == nil:
			return ErrNoOutput
		}
		if marked = j.MarkOutputDeleted(s.now()); !marked {
			return errAlready
		}
		return nil
	})
	switch {
	case errors.Is(err, errAlready):
		return seen, false, nil
	case errors.Is(err, jobstore.ErrNotFound):
		return nil, false, ErrNotFound
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrNoOutput):
		return nil, false, err
	case err != nil:
		return nil, false, storeErr(err)
	}
	return j, marked, nil
}

// OutputFileDeleted is the last step: the file under key is gone, and the
// record's key is cleared. A record that moved on is left as it is.
func (s *Submitter) OutputFileDeleted(ctx context.Context, id jobs.ID, key string) error {
	_, err := s.Store.Update(ctx, id, func(j *jobs.Job) error {
		if !j.ClearDeletedOutput(key) {
			return errAlready
		}
		return nil
	})
	if err == nil || errors.Is(err, errAlready) || errors.Is(err, jobstore.ErrNotFound) {
		return nil
	}
	return storeErr(err)
}

var errAlready = errors.New("submit: already done")
