package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrTransition is returned for a change the state machine forbids.
var ErrTransition = errors.New("jobs: transition not allowed")

// ErrStaleFence is returned for a report from an assignment that is no
// longer current.
var ErrStaleFence = errors.New("jobs: stale fencing token")

// allowed lists the legal transitions: queued → running → succeeded |
// failed | canceled, running → queued for a retry, queued → canceled or
// failed (attempts exhausted, invalid spec).
var allowed = map[Status][]Status{
	Queued:  {Running, Canceled, Failed},
	Running: {Succeeded, Failed, Canceled, Queued},
}

// CanTransition reports whether from → to is legal.
func CanTransition(from, to Status) bool {
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

func (j *Job) to(s Status) error {
	if !CanTransition(j.Status, s) {
		return fmt.Errorf("%w: %s → %s for %s", ErrTransition, j.Status, s, j.ID)
	}
	j.Status = s
	return nil
}

// Assign moves a queued job to running on worker with fencing token fence.
func (j *Job) Assign(worker string, fence int64, now time.Time) error {
	if err := j.to(Running); err != nil {
		return err
	}
	j.Attempts++
	j.Worker, j.Fence, j.Progress, j.NotBefore, j.Admitted = &worker, fence, 0, nil, true
	t := now
	j.StartedAt = &t
	j.stampAssigned(now)
	return nil
}

// CheckFence refuses a report whose token is not the current assignment's.
func (j *Job) CheckFence(fence int64) error {
	if j.Status != Running || j.Fence != fence {
		return fmt.Errorf("%w: job %s is %s with token %d, report has %d", ErrStaleFence, j.ID, j.Status, j.Fence, fence)
	}
	return nil
}

// Succeed records the output of the current assignment.
func (j *Job) Succeed(fence int64, out Output, now time.Time) error {
	if err := j.CheckFence(fence); err != nil {
		return err
	}
	if err := j.to(Succeeded); err != nil {
		return err
	}
	j.Output, j.Progress, j.Completions, j.Error = &out, 1, j.Completions+1, nil
	j.finish(now)
	return nil
}

// Fail ends the job with a typed error.
func (j *Job) Fail(code, message string, now time.Time) error {
	if err := j.to(Failed); err != nil {
		return err
	}
	j.Error = &Error{Code: code, Message: message}
	j.finish(now)
	return nil
}

// Cancel ends the job as canceled.
func (j *Job) Cancel(now time.Time) error {
	if err := j.to(Canceled); err != nil {
		return err
	}
	j.Error = &Error{Code: "CANCELED", Message: "canceled by the client"}
	j.finish(now)
	return nil
}

// Requeue sends a running job back to the queue for another attempt,
// not before notBefore; the attempt count was raised when it was assigned.
func (j *Job) Requeue(reason Error, notBefore time.Time) error {
	if err := j.to(Queued); err != nil {
		return err
	}
	j.Worker, j.Fence, j.Progress, j.StartedAt = nil, 0, 0, nil
	j.Error = &reason
	t := notBefore
	j.NotBefore = &t
	return nil
}

func (j *Job) finish(now time.Time) {
	t := now
	j.FinishedAt = &t
	j.CancelRequested = false
	j.stampFinished(now)
}

// MarkOutputDeleted is the first step of deleting a job's output (a
// client's DELETE, or retention): from now on the output is gone to
// clients. It reports whether this call marked it; false when it was
// marked already (nothing to write) or there is no output to delete.
func (j *Job) MarkOutputDeleted(now time.Time) bool {
	if j.Output == nil || j.OutputDeletedAt != nil {
		return false
	}
	at := now.UTC()
	j.OutputDeletedAt = &at
	return true
}

// ClearDeletedOutput is the last step: the file under key is gone, and the
// record stops naming it. It reports whether the record changed; false
// when it moved on (another key, not marked, already cleared).
func (j *Job) ClearDeletedOutput(key string) bool {
	if j.Output == nil || j.Output.Key != key || j.OutputDeletedAt == nil {
		return false
	}
	j.Output.Key = ""
	return true
}

// AssetIDs lists the asset ids the job's spec names: every string of the
// form of an asset id (source.asset_id, a sticker's asset_id or font).
// Retention keeps those assets while the job is queued or running.
func (j *Job) AssetIDs() []string {
	var v any
	if json.Unmarshal(j.Spec, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			if assetIDPattern.MatchString(v) {
				out = append(out, v)
			}
		}
	}
	walk(v)
	return out
}

// assetIDPattern is the form of an asset id (services/assets.ValidID).
var assetIDPattern = regexp.MustCompile(`^ast_[A-Za-z0-9_-]{1,64}$`)
