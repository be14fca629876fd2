package stickerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// BatchID names a batch ("bat_…").
type BatchID string

// Batch statuses.
const (
	BatchRunning   = "running"
	BatchCanceling = "canceling"
	BatchCompleted = "completed"
	BatchCanceled  = "canceled"
)

// BatchRequest renders one template version with many rows of variables.
type BatchRequest struct {
	TemplateID TemplateID `json:"template_id"`
	// TemplateVersion pins a version; 0 takes the latest.
	TemplateVersion int `json:"template_version,omitempty"`
	// Rows are the variables of each render (at most 10000).
	Rows []map[string]any `json:"rows"`
	// Output, Metadata: as a template render's, for every row.
	Output   map[string]any    `json:"output,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// WebhookURL receives the batch once, when it ends; rows send none.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// Batch is a batch as the API shows it: how many rows it has, those it
// rejected and why, and its rows by state. GetBatch adds a page of Rows.
type Batch struct {
	ID              BatchID           `json:"id"`
	Status          string            `json:"status"`
	TemplateID      TemplateID        `json:"template_id"`
	TemplateVersion int               `json:"template_version"`
	Total           int               `json:"total"`
	Accepted        int               `json:"accepted"`
	Rejected        []RejectedRow     `json:"rejected"`
	Counts          BatchCounts       `json:"counts"`
	CreatedAt       time.Time         `json:"created_at"`
	FinishedAt      *time.Time        `json:"finished_at"`
	Metadata        map[string]string `json:"metadata"`
	// Rows and NextCursor: a page of rows (GetBatch only).
	Rows       []BatchRow `json:"rows,omitempty"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// Ended reports whether every row of the batch has ended.
func (b *Batch) Ended() bool { return b.Status == BatchCompleted || b.Status == BatchCanceled }

// Done is how many rows have ended (or were rejected): the batch's progress
// out of Total.
func (b *Batch) Done() int {
	c := b.Counts
	return c.Succeeded + c.Failed + c.Canceled + c.Rejected
}

// RejectedRow is a row that made no job, and why (field paths such as
// variables.title).
type RejectedRow struct {
	Row    int          `json:"row"`
	Errors []FieldError `json:"errors"`
}

// BatchCounts are a batch's rows by state.
type BatchCounts struct {
	Queued    int `json:"queued"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Canceled  int `json:"canceled"`
	Rejected  int `json:"rejected"`
}

// BatchRow is one row: its job and the job's state ("rejected" and its
// problems for a row that made no job).
type BatchRow struct {
	Row    int          `json:"row"`
	JobID  *JobID       `json:"job_id"`
	Status string       `json:"status"`
	Error  *JobError    `json:"error,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// SubmitBatch submits a batch. Invalid rows do not fail it: they are
// listed in Rejected, and the others run. A batch is sent once (not
// retried on 429 or 503).
func (c *Client) SubmitBatch(ctx context.Context, r BatchRequest) (*Batch, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("stickerd: encoding the batch: %w", err)
	}
	var b Batch
	if _, err := c.sendJSON(ctx, request{method: http.MethodPost, path: "/v1/batches", body: body, contentType: "application/json"}, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// CSVOptions name what a CSV batch cannot say in its table.
type CSVOptions struct {
	TemplateVersion int
	WebhookURL      string
}

// SubmitBatchCSV submits a batch as a CSV table: a header row of variable
// names, then a row of values per render (an empty cell takes the
// variable's default). csv is read once.
func (c *Client) SubmitBatchCSV(ctx context.Context, id TemplateID, csv io.Reader, opt CSVOptions) (*Batch, error) {
	q := url.Values{"template_id": {string(id)}}
	if opt.TemplateVersion > 0 {
		q.Set("template_version", strconv.Itoa(opt.TemplateVersion))
	}
	if opt.WebhookURL != "" {
		q.Set("webhook_url", opt.WebhookURL)
	}
	var b Batch
	_, err := c.sendJSON(ctx, request{method: http.MethodPost, path: "/v1/batches", query: q, stream: csv,
		length: lengthOf(csv), contentType: "text/csv"}, &b)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// GetBatch returns the batch with a page of its rows.
func (c *Client) GetBatch(ctx context.Context, id BatchID, opt PageOptions) (*Batch, error) {
	req := c.get(batchPath(id, ""))
	req.query = opt.query()
	var b Batch
	if _, err := c.sendJSON(ctx, req, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// CancelBatch cancels every row of the batch that has not ended. A batch
// that already ended answers 409, an *APIError.
func (c *Client) CancelBatch(ctx context.Context, id BatchID) (*Batch, error) {
	var b Batch
	if _, err := c.sendJSON(ctx, request{method: http.MethodDelete, path: batchPath(id, "")}, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// BatchEvent is one event of GET /v1/batches/{id}/events: "status" with
// the Batch, or "row" with a row whose job ended.
type BatchEvent struct {
	Type  string
	Batch *Batch
	Row   *BatchRow
}

// BatchEvents follows the batch's event stream and calls fn for each
// event. It returns nil after the status event of the batch's end, fn's
// error, ErrStreamEnded if the stream closed early, or what broke it.
func (c *Client) BatchEvents(ctx context.Context, id BatchID, fn func(BatchEvent) error) error {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: batchPath(id, "/events"),
		header: http.Header{"Accept": {"text/event-stream"}}, retry: true})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readEvents(resp.Body, func(ev Event) error {
		be := BatchEvent{Type: ev.Type}
		switch ev.Type {
		case "status":
			be.Batch = new(Batch)
			if err := json.Unmarshal(ev.Data, be.Batch); err != nil {
				return fmt.Errorf("stickerd: status event: %w", err)
			}
		case "row":
			be.Row = new(BatchRow)
			if err := json.Unmarshal(ev.Data, be.Row); err != nil {
				return fmt.Errorf("stickerd: row event: %w", err)
			}
		}
		if err := fn(be); err != nil {
			return err
		}
		if be.Batch != nil && be.Batch.Ended() {
			return errTerminal
		}
		return nil
	})
}

// WaitBatch follows the batch until it ends and returns it, calling
// onChange (when not nil) with each new state of the batch and onRow with
// each row that ends. It listens to the event stream and, if the stream
// breaks, polls GET /v1/batches/{id} every PollInterval.
func (c *Client) WaitBatch(ctx context.Context, id BatchID, onChange func(*Batch), onRow func(*BatchRow)) (*Batch, error) {
	var last *Batch
	err := c.BatchEvents(ctx, id, func(ev BatchEvent) error {
		switch {
		case ev.Batch != nil:
			last = ev.Batch
			if onChange != nil {
				onChange(ev.Batch)
			}
		case ev.Row != nil && onRow != nil:
			onRow(ev.Row)
		}
		return nil
	})
	switch {
	case err == nil && last != nil && last.Ended():
		return last, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil && !errors.Is(err, ErrStreamEnded):
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return nil, err
		}
	}
	for {
		b, err := c.GetBatch(ctx, id, PageOptions{Limit: 1})
		if err != nil {
			return nil, err
		}
		if onChange != nil {
			onChange(b)
		}
		if b.Ended() {
			return b, nil
		}
		if err := c.wait(ctx, c.pollInterval()); err != nil {
			return nil, err
		}
	}
}

// batchPath is /v1/batches/{id}{suffix}, with the id escaped.
func batchPath(id BatchID, suffix string) string {
	return "/v1/batches/" + url.PathEscape(string(id)) + suffix
}
