package gateway

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/services/assets"
)

// publicJob is the job of docs/api.md: exactly its fields, none of the
// scheduler's bookkeeping (tenant, spec, webhook, fence, blob key...).
type publicJob struct {
	ID         jobs.ID           `json:"id"`
	Status     jobs.Status       `json:"status"`
	Progress   float64           `json:"progress"`
	Attempts   int               `json:"attempts"`
	Priority   jobs.Priority     `json:"priority"`
	CreatedAt  time.Time         `json:"created_at"`
	StartedAt  *time.Time        `json:"started_at"`
	FinishedAt *time.Time        `json:"finished_at"`
	Worker     *string           `json:"worker"`
	Error      *jobs.Error       `json:"error"`
	Output     *publicOutput     `json:"output"`
	Metadata   map[string]string `json:"metadata"`
	// OutputDeletedAt is when the output was deleted or expired; the
	// output then has no url.
	OutputDeletedAt *time.Time `json:"output_deleted_at,omitempty"`
	// Plan says how the job was (or, split across workers, is being)
	// rendered: the engine's plan summary, once a worker planned it.
	Plan json.RawMessage `json:"plan,omitempty"`
	// TemplateID and TemplateVersion name the template version the job
	// was expanded from; BatchID the batch it is a row of.
	TemplateID      string `json:"template_id,omitempty"`
	TemplateVersion int    `json:"template_version,omitempty"`
	BatchID         string `json:"batch_id,omitempty"`
	// Timings is the job's timeline: queued, then each phase of its
	// latest attempt as it ends.
	Timings jobs.Timings `json:"timings"`
	// TraceID names the job's trace in the tracing backend, when the
	// submission was traced.
	TraceID string `json:"trace_id,omitempty"`
}

type publicOutput struct {
	URL string `json:"url,omitempty"`
	// SignedURL downloads without an API key until it expires (signed.go);
	// set by Gateway.jobView only.
	SignedURL string  `json:"signed_url,omitempty"`
	Bytes     int64   `json:"bytes"`
	Format    string  `json:"format"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	Duration  float64 `json:"duration"`
}

func viewJob(j *jobs.Job) publicJob {
	v := publicJob{ID: j.ID, Status: j.Status, Progress: j.Progress, Attempts: j.Attempts, Priority: j.Priority,
		CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, Worker: j.Worker, Error: publicError(j.Error),
		Metadata: j.Metadata, OutputDeletedAt: j.OutputDeletedAt, Plan: j.Plan,
		TemplateID: j.TemplateID, TemplateVersion: j.TemplateVersion, BatchID: j.BatchID,
		Timings: j.Timeline(), TraceID: j.TraceID}
	if j.Output != nil {
		v.Output = &publicOutput{Bytes: j.Output.Bytes,
			Format: j.Output.Format, Width: j.Output.Width, Height: j.Output.Height, Duration: j.Output.Duration}
		if j.OutputDeletedAt == nil {
			v.Output.URL = "/v1/renders/" + string(j.ID) + "/output"
		}
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	return v
}

// jobView is viewJob with, for a succeeded job whose output is stored, a
// signed link to it valid for SignedURLTTL from now: what the API answers.
func (g *Gateway) jobView(j *jobs.Job) publicJob {
	v := viewJob(j)
	if v.Output != nil && v.Output.URL != "" && j.Status == jobs.Succeeded {
		v.Output.SignedURL = g.signer.link(j, g.clock.Now())
	}
	return v
}

// internalJobMessage replaces the text of a job's INTERNAL error.
const internalJobMessage = "an internal error occurred; it has been logged"

// publicError is a job's error as clients see it. An INTERNAL error is a
// bug: its text (a local path, an internal address) is for the logs, so
// clients get its code alone, also as the last error of
// ATTEMPTS_EXHAUSTED ("gave up after N attempts; last: CODE: text", as the
// scheduler writes it). Typed errors are written for clients and kept.
func publicError(e *jobs.Error) *jobs.Error {
	if e == nil {
		return nil
	}
	out := *e
	const last = "; last: INTERNAL"
	switch {
	case e.Code == "INTERNAL":
		out.Message = internalJobMessage
	case e.Code == "ATTEMPTS_EXHAUSTED" && strings.Contains(e.Message, last):
		out.Message = e.Message[:strings.Index(e.Message, last)+len(last)] + ": " + internalJobMessage
	}
	return &out
}

// publicAsset is the asset of docs/api.md plus what a client can use:
// its media type, content hash and creation time.
type publicAsset struct {
	ID          string      `json:"id"`
	Kind        assets.Kind `json:"kind"`
	ContentType string      `json:"content_type"`
	Bytes       int64       `json:"bytes"`
	Width       int         `json:"width"`
	Height      int         `json:"height"`
	Duration    float64     `json:"duration"`
	SHA256      string      `json:"sha256"`
	CreatedAt   time.Time   `json:"created_at"`
}

func viewAsset(a *assets.Asset) publicAsset {
	return publicAsset{ID: a.ID, Kind: a.Kind, ContentType: a.ContentType, Bytes: a.Bytes, Width: a.Width,
		Height: a.Height, Duration: a.Duration, SHA256: a.SHA256, CreatedAt: a.CreatedAt}
}

// PublicJob is the job as docs/api.md shows it, without the scheduler's
// bookkeeping: what GET /v1/renders/{id} answers and webhooks carry.
func PublicJob(j *jobs.Job) any { return viewJob(j) }
