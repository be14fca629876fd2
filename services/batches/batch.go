package batches

import (
	"crypto/rand"
	"regexp"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
)

// MaxRows bounds a batch.
const MaxRows = 10000

// Batch statuses.
const (
	// Running: some accepted rows have not ended.
	Running = "running"
	// Completed: every row ended (or was rejected).
	Completed = "completed"
	// Canceled: the batch was canceled, and every row has ended since.
	Canceled = "canceled"
)

// Webhook delivery states of a batch.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
)

// Batch is the record of one batch.
type Batch struct {
	ID              string            `json:"id"`
	Tenant          string            `json:"tenant"`
	TemplateID      string            `json:"template_id"`
	TemplateVersion int               `json:"template_version"`
	Status          string            `json:"status"`
	Total           int               `json:"total"`
	Accepted        int               `json:"accepted"`
	Rejected        int               `json:"rejected"`
	WebhookURL      string            `json:"webhook_url,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	FinishedAt      *time.Time        `json:"finished_at,omitempty"`
	// CancelRequested is set by DELETE; the batch ends canceled.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Counts are the final counts, set when the batch ends.
	Counts *Counts `json:"counts,omitempty"`
	// Webhook is the state of the end's webhook ("" without a
	// webhook_url); WebhookClaimed is when a tracker took the delivery.
	Webhook        string     `json:"webhook,omitempty"`
	WebhookClaimed *time.Time `json:"webhook_claimed,omitempty"`

	// Revision is the store revision of the record (not stored).
	Revision int64 `json:"-"`
}

// Ended reports whether the batch has ended.
func (b *Batch) Ended() bool { return b.Status == Completed || b.Status == Canceled }

// live reports whether a tracker still has work with the batch.
func (b *Batch) live() bool { return !b.Ended() || b.Webhook == WebhookPending }

// Clone returns a deep copy.
func (b *Batch) Clone() *Batch {
	c := *b
	if b.FinishedAt != nil {
		t := *b.FinishedAt
		c.FinishedAt = &t
	}
	if b.WebhookClaimed != nil {
		t := *b.WebhookClaimed
		c.WebhookClaimed = &t
	}
	if b.Counts != nil {
		n := *b.Counts
		c.Counts = &n
	}
	if b.Metadata != nil {
		c.Metadata = make(map[string]string, len(b.Metadata))
		for k, v := range b.Metadata {
			c.Metadata[k] = v
		}
	}
	return &c
}

// Row is one row of a batch: the job it became, or why it was rejected.
type Row struct {
	Row    int                  `json:"row"`
	JobID  jobs.ID              `json:"job_id,omitempty"`
	Errors []errcode.FieldError `json:"errors,omitempty"`
}

// Counts are a batch's rows by state.
type Counts struct {
	Queued    int `json:"queued"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Canceled  int `json:"canceled"`
	Rejected  int `json:"rejected"`
}

// Unfinished is how many accepted rows have not ended.
func (c Counts) Unfinished() int { return c.Queued + c.Running }

// Count counts rows by the state of their jobs (js[i] is the job of the
// i-th accepted row, in the order of rows; nil when its record is gone,
// which is counted as failed: a record leaves only after it ended, by
// retention).
func Count(rows []Row, js []*jobs.Job) Counts {
	var c Counts
	i := 0
	for _, r := range rows {
		if r.JobID == "" {
			c.Rejected++
			continue
		}
		var j *jobs.Job
		if i < len(js) {
			j = js[i]
		}
		i++
		switch {
		case j == nil:
			c.Failed++
		case j.Status == jobs.Queued:
			c.Queued++
		case j.Status == jobs.Running:
			c.Running++
		case j.Status == jobs.Succeeded:
			c.Succeeded++
		case j.Status == jobs.Canceled:
			c.Canceled++
		default:
			c.Failed++
		}
	}
	return c
}

// JobIDs lists the job ids of the accepted rows, in order.
func JobIDs(rows []Row) []jobs.ID {
	ids := make([]jobs.ID, 0, len(rows))
	for _, r := range rows {
		if r.JobID != "" {
			ids = append(ids, r.JobID)
		}
	}
	return ids
}

// NewID returns a fresh batch id: "bat_" and 16 base32 characters.
func NewID() string {
	const base32 = "0123456789abcdefghjkmnpqrstvwxyz"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i, v := range b {
		b[i] = base32[v&31]
	}
	return "bat_" + string(b)
}

var idPattern = regexp.MustCompile(`^bat_[0-9a-z]{1,64}$`)

// ValidID reports whether id has the shape of a batch id.
func ValidID(id string) bool { return idPattern.MatchString(id) }
