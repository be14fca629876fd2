package jobs

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Task kinds: the records a split job's work is cut into.
const (
	// TaskPart renders one part of the plan's encoded timeline.
	TaskPart = "part"
	// TaskStitch joins the rendered parts (and the source's copied runs)
	// into the job's output, once every part has succeeded.
	TaskStitch = "stitch"
)

// MaxParts bounds the parts of one split job: its tasks are created in
// one store transaction with the job's own write.
const MaxParts = 48

// Task marks a record as one task of a split job (its Parent). Tasks live
// in the store as jobs do, with their own fencing tokens, attempts and
// retries, and go to any free worker; clients never see them: they have
// no tenant index entry, no events and no webhook, and the gateway
// answers 404 for their ids.
type Task struct {
	Kind  string `json:"kind"`
	Index int    `json:"index,omitempty"`
	// Weight is the part's share of the encoding work (0..1).
	Weight float64 `json:"weight,omitempty"`
	// Plan is the engine's plan (render.Plan, JSON) the task carries out.
	Plan json.RawMessage `json:"plan"`
	// PartKeys are, for a stitch, the blob keys of the parts' files in
	// plan order.
	PartKeys []string `json:"part_keys,omitempty"`
}

// Split is what a job split into tasks records: its plan and how many
// parts it has. The job stays running, with no worker of its own, until
// its stitch succeeds (the job succeeds with the stitch's output) or a
// task fails for good (the job fails with the task's error).
type Split struct {
	Plan  json.RawMessage `json:"plan"`
	Parts int             `json:"parts"`
	// Weights are the parts' shares of the encoding work.
	Weights []float64 `json:"weights,omitempty"`
	// Stitching is set once every part succeeded and the stitch task was
	// created.
	Stitching bool `json:"stitching,omitempty"`
}

// PartID is the id of part i of job id; StitchID that of its stitch.
func PartID(id ID, i int) ID { return ID(fmt.Sprintf("%s.part%02d", id, i)) }

// StitchID is the id of the stitch task of job id.
func StitchID(id ID) ID { return id + ".stitch" }

// IsTaskID reports whether id names a task record rather than a job.
func IsTaskID(id ID) bool { return strings.Contains(string(id), ".") }

// TaskIDs lists the ids of every task a split job has or will have.
func (j *Job) TaskIDs() []ID {
	if j.Split == nil {
		return nil
	}
	ids := make([]ID, 0, j.Split.Parts+1)
	for i := 0; i < j.Split.Parts; i++ {
		ids = append(ids, PartID(j.ID, i))
	}
	return append(ids, StitchID(j.ID))
}

// SplitInto records, for the current assignment (fence), that the job is
// carried out by tasks from now on: the worker that planned it holds it no
// longer. It returns the part tasks to create with it, queued.
func (j *Job) SplitInto(fence int64, plan, summary json.RawMessage, weights []float64, now time.Time) ([]*Job, error) {
	if err := j.CheckFence(fence); err != nil {
		return nil, err
	}
	if j.Split != nil {
		return nil, fmt.Errorf("%w: %s is split already", ErrTransition, j.ID)
	}
	if len(weights) < 2 || len(weights) > MaxParts {
		return nil, fmt.Errorf("%w: %s: a split needs 2 to %d parts, not %d", ErrTransition, j.ID, MaxParts, len(weights))
	}
	j.Split = &Split{Plan: plan, Parts: len(weights), Weights: weights}
	j.Plan = summary
	j.Worker = nil
	tasks := make([]*Job, len(weights))
	for i, w := range weights {
		tasks[i] = j.newTask(PartID(j.ID, i), &Task{Kind: TaskPart, Index: i, Weight: w, Plan: plan}, now)
	}
	return tasks, nil
}

// StartStitch records that every part succeeded: it returns the stitch
// task to create, queued, which joins the parts' files (keys, in plan
// order).
func (j *Job) StartStitch(keys []string, now time.Time) (*Job, error) {
	if j.Status != Running || j.Split == nil || j.Split.Stitching {
		return nil, fmt.Errorf("%w: %s is not waiting for its stitch", ErrTransition, j.ID)
	}
	if len(keys) != j.Split.Parts {
		return nil, fmt.Errorf("%w: %s has %d parts, the stitch was given %d", ErrTransition, j.ID, j.Split.Parts, len(keys))
	}
	j.Split.Stitching = true
	return j.newTask(StitchID(j.ID), &Task{Kind: TaskStitch, Plan: j.Split.Plan, PartKeys: keys}, now), nil
}

// newTask is a queued task record of j: its tenant, priority, spec and
// creation time, so that it queues beside the job's peers.
func (j *Job) newTask(id ID, t *Task, now time.Time) *Job {
	return &Job{ID: id, Tenant: j.Tenant, Status: Queued, Priority: j.Priority, CreatedAt: now.UTC(),
		Spec: append(json.RawMessage(nil), j.Spec...), Parent: j.ID, Task: t, Admitted: true}
}

// SucceedSplit ends a split job with its stitch's output.
func (j *Job) SucceedSplit(out Output, now time.Time) error {
	if j.Split == nil || !j.Split.Stitching {
		return fmt.Errorf("%w: %s has no stitch", ErrTransition, j.ID)
	}
	if err := j.to(Succeeded); err != nil {
		return err
	}
	j.Output, j.Progress, j.Completions, j.Error = &out, 1, j.Completions+1, nil
	j.finish(now)
	return nil
}

// OwnedBy reports whether the record is tenant's job: the tenant's, and
// not a task of a split job (a task carries its job's tenant, but it is
// the scheduler's record, never a client's to read, cancel or download).
func (j *Job) OwnedBy(tenant string) bool { return j.Tenant == tenant && j.Parent == "" }
