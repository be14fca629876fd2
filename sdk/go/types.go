package stickerd

import (
	"encoding/json"
	"time"
)

// JobID names a render job ("job_…").
type JobID string

// AssetID names an uploaded asset ("ast_…").
type AssetID string

// Status is a job's state.
type Status string

// The job states of the contract.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCanceled  Status = "canceled"
)

// Terminal reports whether the job can no longer change.
func (s Status) Terminal() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCanceled
}

// Job is a render job as the REST API shows it.
type Job struct {
	ID         JobID             `json:"id"`
	Status     Status            `json:"status"`
	Progress   float64           `json:"progress"`
	Attempts   int               `json:"attempts"`
	Priority   string            `json:"priority"`
	CreatedAt  time.Time         `json:"created_at"`
	StartedAt  *time.Time        `json:"started_at"`
	FinishedAt *time.Time        `json:"finished_at"`
	Worker     *string           `json:"worker"`
	Error      *JobError         `json:"error"`
	Output     *Output           `json:"output"`
	Metadata   map[string]string `json:"metadata"`
	// OutputDeletedAt is when the output was deleted or expired (its
	// download answers 410 OUTPUT_GONE); nil while it is stored.
	OutputDeletedAt *time.Time `json:"output_deleted_at,omitempty"`
	// Plan says how the job was rendered, once a worker planned it.
	Plan *Plan `json:"plan,omitempty"`
	// TemplateID and TemplateVersion name the template version the job
	// was rendered from; BatchID the batch it is a row of.
	TemplateID      TemplateID `json:"template_id,omitempty"`
	TemplateVersion int        `json:"template_version,omitempty"`
	BatchID         BatchID    `json:"batch_id,omitempty"`
	// Timings is the job's timeline: when it was queued, then when each
	// phase of its latest attempt ended.
	Timings Timings `json:"timings"`
	// TraceID names the job's trace in the operator's tracing backend,
	// when the submission was traced.
	TraceID string `json:"trace_id,omitempty"`
}

// Timings are the moments of a job's life; a phase not reached is nil.
type Timings struct {
	Queued        time.Time  `json:"queued"`
	Assigned      *time.Time `json:"assigned,omitempty"`
	Started       *time.Time `json:"started,omitempty"`
	InputsFetched *time.Time `json:"inputs_fetched,omitempty"`
	Encoded       *time.Time `json:"encoded,omitempty"`
	Stored        *time.Time `json:"stored,omitempty"`
	Finished      *time.Time `json:"finished,omitempty"`
}

// Plan is how a render was carried out: "full" (the whole source
// re-encoded in one pass), "smart" (only the stretches the stickers touch
// re-encoded, the rest copied from the source) or "split" (parts rendered
// by many workers at once, then joined), with Reason saying why a render
// was not smarter.
type Plan struct {
	Mode           string  `json:"mode"`
	Segments       int     `json:"segments"`
	EncodedSeconds float64 `json:"encoded_seconds"`
	CopiedSeconds  float64 `json:"copied_seconds"`
	Workers        int     `json:"workers"`
	Reason         string  `json:"reason,omitempty"`
	// Chain is where a whole render's frames were decoded and composited
	// ("cpu", "gpu-composite", "gpu-composite+nvenc"), ChainReason why.
	Chain       string `json:"chain,omitempty"`
	ChainReason string `json:"chain_reason,omitempty"`
}

// Err returns nil for a job that succeeded or has not ended yet, the job's
// *JobError when it failed, and a CANCELED *JobError when it was canceled.
func (j *Job) Err() error {
	switch {
	case j.Status == StatusFailed && j.Error != nil:
		return j.Error
	case j.Status == StatusFailed:
		return &JobError{Code: "INTERNAL", Message: "the job failed without an error"}
	case j.Status == StatusCanceled:
		if j.Error != nil {
			return j.Error
		}
		return &JobError{Code: "CANCELED", Message: "the job was canceled"}
	}
	return nil
}

// JobError is why a job failed: a code from the contract's taxonomy and a
// message that may be shown to a person.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *JobError) Error() string { return e.Code + ": " + e.Message }

// Output describes the file of a job that succeeded.
type Output struct {
	// URL downloads with an API key; empty once the output was deleted.
	URL string `json:"url"`
	// SignedURL downloads without an API key until it expires (the
	// gateway's --signed-url-ttl from when the job was read): give it to a
	// browser, a player or another service. Absolute when the gateway has
	// a --public-url, else a path on the gateway.
	SignedURL string  `json:"signed_url,omitempty"`
	Bytes     int64   `json:"bytes"`
	Format    string  `json:"format"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	Duration  float64 `json:"duration"`
}

// Asset is an uploaded file. Width, Height and Duration are zero where
// they do not apply (a font has none; an image has no duration).
type Asset struct {
	ID       AssetID `json:"id"`
	Kind     string  `json:"kind"` // "video", "image" or "font"
	Bytes    int64   `json:"bytes"`
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	Duration float64 `json:"duration,omitempty"`
}

// JobList is one page of GET /v1/renders, newest first.
type JobList struct {
	Items []Job `json:"items"`
	// NextCursor is empty on the last page.
	NextCursor string `json:"next_cursor"`
}

// ListOptions filters and pages GET /v1/renders. Zero values are left out.
type ListOptions struct {
	Status Status
	Limit  int
	Cursor string
}

// Sticker is one entry of the built-in catalogue (GET /v1/stickers).
type Sticker struct {
	Name     string   `json:"name"`
	Title    string   `json:"title"`
	Animated bool     `json:"animated"`
	Format   string   `json:"format"`
	Width    int      `json:"width"`
	Height   int      `json:"height"`
	Frames   int      `json:"frames"`
	Duration float64  `json:"duration"`
	Tags     []string `json:"tags"`
}

// Event is one Server-Sent Event of GET /v1/renders/{id}/events.
type Event struct {
	// Type is "status" or "progress" (other types are passed on as they come).
	Type string
	// Job is the job the event carried; nil when the data was not a whole
	// job (a bare number, or a progress object without a status).
	Job *Job
	// Progress is 0..1: the job's progress, or the number a progress event carried.
	Progress float64
	// ID is the event's "id:" field, if any.
	ID string
	// Data is the raw data of the event.
	Data json.RawMessage
}
