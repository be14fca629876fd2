package jobs

import (
	"crypto/rand"
	"encoding/json"
	"time"
)

// ID names a job: "job_" and 26 base32 characters.
type ID string

// NewID returns a fresh random job id.
func NewID() ID { return ID("job_" + randomBase32(16)) }

// Status is a job's state.
type Status string

// The states of docs/api.md.
const (
	Queued    Status = "queued"
	Running   Status = "running"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Canceled  Status = "canceled"
)

// Terminal reports whether no further change can happen.
func (s Status) Terminal() bool { return s == Succeeded || s == Failed || s == Canceled }

// Priority orders queued jobs.
type Priority string

// Priorities, highest first.
const (
	High   Priority = "high"
	Normal Priority = "normal"
	Low    Priority = "low"
)

// Rank is smaller for more urgent priorities.
func (p Priority) Rank() int {
	switch p {
	case High:
		return 0
	case Low:
		return 2
	}
	return 1
}

// Error is the typed error a failed job carries.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Output describes a succeeded job's file.
type Output struct {
	URL      string  `json:"url"`
	Bytes    int64   `json:"bytes"`
	Format   string  `json:"format"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	Duration float64 `json:"duration"`
	Encoder  string  `json:"encoder,omitempty"`
	// Key is the blob store key of the file (not shown to clients).
	Key string `json:"key,omitempty"`
}

// Job is the record of one render. The public fields of docs/api.md come
// first; the rest is the scheduler's bookkeeping.
type Job struct {
	ID         ID                `json:"id"`
	Tenant     string            `json:"tenant"`
	Status     Status            `json:"status"`
	Progress   float64           `json:"progress"`
	Attempts   int               `json:"attempts"`
	Priority   Priority          `json:"priority"`
	CreatedAt  time.Time         `json:"created_at"`
	StartedAt  *time.Time        `json:"started_at"`
	FinishedAt *time.Time        `json:"finished_at"`
	Worker     *string           `json:"worker"`
	Error      *Error            `json:"error"`
	Output     *Output           `json:"output"`
	Metadata   map[string]string `json:"metadata"`

	// Spec is the normalised render request.
	Spec json.RawMessage `json:"spec"`
	// WebhookURL is notified when the job ends.
	WebhookURL string `json:"webhook_url,omitempty"`
	// Admitted is set when the scheduler first assigns the job: it took the
	// job in, whether through Kafka, its store watch or the outbox sweep.
	Admitted bool `json:"admitted,omitempty"`
	// NotBefore holds a retried job back until its backoff has passed.
	NotBefore *time.Time `json:"not_before,omitempty"`
	// Fence is the fencing token of the current assignment: the store
	// revision at which the job was assigned. A report carrying another
	// token is from a stale assignment and is refused.
	Fence int64 `json:"fence,omitempty"`
	// CancelRequested is set by DELETE while the job runs; the scheduler
	// tells the worker, which stops ffmpeg and reports it canceled.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Completions counts accepted completions; it is 1 for a succeeded job.
	Completions int `json:"completions,omitempty"`
	// Term is the leadership term (the scheduler election key's create
	// revision) under which the record was last written, 0 for a write
	// made outside one (the gateway's). The store stamps it; with etcd's
	// history it shows that no write committed after its term ended.
	Term int64 `json:"term,omitempty"`
	// OutputDeletedAt is set when the output was deleted (DELETE of the
	// output, or its retention ran out): the download answers 410 from
	// then on. Output.Key stays until the file itself is gone, so that
	// whoever finishes an interrupted deletion knows what to remove.
	OutputDeletedAt *time.Time `json:"output_deleted_at,omitempty"`

	// Plan is the render plan's summary, for clients (the engine's
	// render.Plan without its parts): how the job was rendered, or, for a
	// split job, is being rendered.
	Plan json.RawMessage `json:"plan,omitempty"`
	// Split is set while and after the job is carried out by tasks
	// (split.go).
	Split *Split `json:"split,omitempty"`
	// Parent and Task are set on a task record of a split job instead.
	Parent ID    `json:"parent,omitempty"`
	Task   *Task `json:"task,omitempty"`
	// TemplateID and TemplateVersion name the template version the spec
	// was expanded from (POST /v1/renders with a template_id, or a batch
	// row); empty for a render of a full spec.
	TemplateID      string `json:"template_id,omitempty"`
	TemplateVersion int    `json:"template_version,omitempty"`
	// BatchID names the batch the job is a row of.
	BatchID string `json:"batch_id,omitempty"`
	// Timings is the job's timeline (timings.go).
	Timings *Timings `json:"timings,omitempty"`
	// TraceID names the trace the job's spans belong to, and TraceParent
	// is the W3C traceparent of its submission, from which whichever
	// replica dispatches it continues that trace; empty with tracing off.
	TraceID     string `json:"trace_id,omitempty"`
	TraceParent string `json:"traceparent,omitempty"`

	// Revision is the store's modification revision of this record, the
	// value a compare-and-swap checks. Not stored in the record itself.
	Revision int64 `json:"-"`
}

// Clone returns a deep copy, so that a caller's mutation never leaks into
// a cached record.
func (j *Job) Clone() *Job {
	c := *j
	if j.StartedAt != nil {
		t := *j.StartedAt
		c.StartedAt = &t
	}
	if j.FinishedAt != nil {
		t := *j.FinishedAt
		c.FinishedAt = &t
	}
	if j.NotBefore != nil {
		t := *j.NotBefore
		c.NotBefore = &t
	}
	if j.OutputDeletedAt != nil {
		t := *j.OutputDeletedAt
		c.OutputDeletedAt = &t
	}
	if j.Worker != nil {
		w := *j.Worker
		c.Worker = &w
	}
	if j.Error != nil {
		e := *j.Error
		c.Error = &e
	}
	if j.Output != nil {
		o := *j.Output
		c.Output = &o
	}
	if j.Metadata != nil {
		c.Metadata = make(map[string]string, len(j.Metadata))
		for k, v := range j.Metadata {
			c.Metadata[k] = v
		}
	}
	c.Spec = append(json.RawMessage(nil), j.Spec...)
	if j.Plan != nil {
		c.Plan = append(json.RawMessage(nil), j.Plan...)
	}
	if j.Split != nil {
		sp := *j.Split
		sp.Weights = append([]float64(nil), j.Split.Weights...)
		c.Split = &sp
	}
	c.Timings = j.Timings.Clone()
	if j.Task != nil {
		t := *j.Task
		t.PartKeys = append([]string(nil), j.Task.PartKeys...)
		c.Task = &t
	}
	return &c
}

const base32 = "0123456789abcdefghjkmnpqrstvwxyz"

func randomBase32(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	out := make([]byte, n)
	for i, v := range b {
		out[i] = base32[v&31]
	}
	return string(out)
}
