package jobs

import "time"

// Timings is a job's timeline: when it was queued, and when each phase of
// its latest attempt ended. The scheduler stamps assigned and finished as
// it writes those states; the worker measures the phases in between and
// sends them with its completion, so no phase costs a store write of its
// own. A phase not reached (yet) is nil.
type Timings struct {
	Queued        time.Time  `json:"queued"`
	Assigned      *time.Time `json:"assigned,omitempty"`
	Started       *time.Time `json:"started,omitempty"`
	InputsFetched *time.Time `json:"inputs_fetched,omitempty"`
	Encoded       *time.Time `json:"encoded,omitempty"`
	Stored        *time.Time `json:"stored,omitempty"`
	Finished      *time.Time `json:"finished,omitempty"`
}

// Phases are the worker's part of a timeline; a zero time is a phase the
// worker did not measure.
type Phases struct {
	Started, InputsFetched, Encoded, Stored time.Time
}

// Clone returns a deep copy; nil stays nil.
func (t *Timings) Clone() *Timings {
	if t == nil {
		return nil
	}
	c := *t
	for _, p := range []**time.Time{&c.Assigned, &c.Started, &c.InputsFetched, &c.Encoded, &c.Stored, &c.Finished} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return &c
}

// Timeline is the job's timings as clients see them: the record's, or for
// a record written before it carried them, what its other fields say.
func (j *Job) Timeline() Timings {
	if j.Timings != nil {
		return *j.Timings.Clone()
	}
	t := Timings{Queued: j.CreatedAt}
	if j.StartedAt != nil {
		a := *j.StartedAt
		t.Assigned = &a
	}
	if j.FinishedAt != nil {
		f := *j.FinishedAt
		t.Finished = &f
	}
	return t
}

// timings is the record's timeline, created from CreatedAt when missing.
func (j *Job) timings() *Timings {
	if j.Timings == nil {
		j.Timings = &Timings{Queued: j.CreatedAt}
	}
	return j.Timings
}

// stampAssigned starts a new attempt's timeline: the phases of an earlier
// attempt no longer describe the job.
func (j *Job) stampAssigned(now time.Time) {
	t := j.timings()
	a := now
	t.Assigned, t.Started, t.InputsFetched, t.Encoded, t.Stored, t.Finished = &a, nil, nil, nil, nil, nil
}

func (j *Job) stampFinished(now time.Time) {
	f := now
	j.timings().Finished = &f
}

// RecordPhases keeps the worker's phases of the current attempt.
func (j *Job) RecordPhases(p Phases) {
	t := j.timings()
	for _, ph := range []struct {
		dst **time.Time
		at  time.Time
	}{{&t.Started, p.Started}, {&t.InputsFetched, p.InputsFetched}, {&t.Encoded, p.Encoded}, {&t.Stored, p.Stored}} {
		if !ph.at.IsZero() {
			v := ph.at.UTC()
			*ph.dst = &v
		}
	}
}
