package batches

import (
	"context"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
)

// JobReader reads many jobs at one store revision (*jobstore.Store).
type JobReader interface {
	GetMany(ctx context.Context, ids []jobs.ID) ([]*jobs.Job, int64, error)
}

// State is a batch as it is now: its record, its rows, the jobs of its
// accepted rows (in row order; nil where a record is gone) and its counts,
// all read at Revision of the job store.
type State struct {
	Batch    *Batch
	Rows     []Row
	Jobs     []*jobs.Job
	Counts   Counts
	Revision int64
}

// RecordReader reads batch records and rows (a Store).
type RecordReader interface {
	Get(ctx context.Context, tenant, id string) (*Batch, error)
	Rows(ctx context.Context, tenant, id string) ([]Row, error)
}

// Load reads a batch's state.
func Load(ctx context.Context, s RecordReader, jr JobReader, tenant, id string) (*State, error) {
	b, err := s.Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.Rows(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	js, rev, err := jr.GetMany(ctx, JobIDs(rows))
	if err != nil {
		return nil, err
	}
	return &State{Batch: b, Rows: rows, Jobs: js, Counts: Count(rows, js), Revision: rev}, nil
}

// View is a batch as the API shows it (and its webhook carries).
type View struct {
	ID              string            `json:"id"`
	Status          string            `json:"status"`
	TemplateID      string            `json:"template_id"`
	TemplateVersion int               `json:"template_version"`
	Total           int               `json:"total"`
	Accepted        int               `json:"accepted"`
	Rejected        []RejectedRow     `json:"rejected"`
	Counts          Counts            `json:"counts"`
	CreatedAt       time.Time         `json:"created_at"`
	FinishedAt      *time.Time        `json:"finished_at"`
	Metadata        map[string]string `json:"metadata"`
}

// RejectedRow is a row that made no job, and why.
type RejectedRow struct {
	Row    int                  `json:"row"`
	Errors []errcode.FieldError `json:"errors"`
}

// PublicStatus is the status the API shows: "canceling" while a
// canceled batch's rows are still ending.
func (b *Batch) PublicStatus() string {
	if !b.Ended() && b.CancelRequested {
		return "canceling"
	}
	return b.Status
}

// NewView is the view of a batch with its rows and counts (the final
// counts of an ended batch win over c).
func NewView(b *Batch, rows []Row, c Counts) View {
	if b.Counts != nil {
		c = *b.Counts
	}
	v := View{ID: b.ID, Status: b.PublicStatus(), TemplateID: b.TemplateID, TemplateVersion: b.TemplateVersion,
		Total: b.Total, Accepted: b.Accepted, Rejected: []RejectedRow{}, Counts: c, CreatedAt: b.CreatedAt,
		FinishedAt: b.FinishedAt, Metadata: b.Metadata}
	for _, r := range rows {
		if r.JobID == "" {
			v.Rejected = append(v.Rejected, RejectedRow{Row: r.Row, Errors: r.Errors})
		}
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	return v
}

// RowView is one row as the API lists it.
type RowView struct {
	Row    int                  `json:"row"`
	JobID  *jobs.ID             `json:"job_id"`
	Status string               `json:"status"`
	Error  *jobs.Error          `json:"error,omitempty"`
	Errors []errcode.FieldError `json:"errors,omitempty"`
}

// RowViews lists the rows from lo to hi (exclusive) with their jobs' states.
func (st *State) RowViews(lo, hi int) []RowView {
	out := make([]RowView, 0, max(hi-lo, 0))
	ji := 0
	for i, r := range st.Rows {
		var j *jobs.Job
		if r.JobID != "" {
			if ji < len(st.Jobs) {
				j = st.Jobs[ji]
			}
			ji++
		}
		if i < lo || i >= hi {
			continue
		}
		out = append(out, rowView(r, j))
	}
	return out
}

func rowView(r Row, j *jobs.Job) RowView {
	if r.JobID == "" {
		return RowView{Row: r.Row, Status: "rejected", Errors: r.Errors}
	}
	id := r.JobID
	v := RowView{Row: r.Row, JobID: &id, Status: string(jobs.Failed)}
	if j != nil {
		v.Status = string(j.Status)
		if j.Status.Terminal() && j.Error != nil {
			e := *j.Error
			v.Error = &e
		}
	}
	return v
}

// RowOf is the view of a row from its job, for a change seen on a watch.
func RowOf(row int, j *jobs.Job) RowView { return rowView(Row{Row: row, JobID: j.ID}, j) }
