package stickerdtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/templates"
	"github.com/stickerd/stickerd/render/spec"
)

// Templates and batches, checked and expanded by the real template code
// (internal/templates), as the gateway does. The fake has one tenant;
// a batch's rows advance one step per GET of the batch, or as fast as its
// event stream is read.

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request) {
	d, ok := readDefinition(w, r)
	if !ok {
		return
	}
	now := s.clock.Now().UTC()
	s.mu.Lock()
	s.seq++
	t := &templates.Template{ID: fmt.Sprintf("tpl_%04d", s.seq), Version: 1, Definition: *d, CreatedAt: now, UpdatedAt: now}
	s.tpls[t.ID] = []*templates.Template{t}
	s.tplOrder = append(s.tplOrder, t.ID)
	s.mu.Unlock()
	w.Header().Set("Location", "/v1/templates/"+t.ID)
	writeJSON(w, http.StatusCreated, templateView(t))
}

func readDefinition(w http.ResponseWriter, r *http.Request) (*templates.Definition, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, spec.MaxSpecBytes+1))
	if err != nil {
		Problem(w, http.StatusBadRequest, "SPEC_INVALID", err.Error())
		return nil, false
	}
	d, err := templates.ParseDefinition(body)
	if err != nil {
		specProblem(w, err)
		return nil, false
	}
	return d, true
}

func templateView(t *templates.Template) map[string]any {
	vars := t.Variables
	if vars == nil {
		vars = map[string]templates.Variable{}
	}
	return map[string]any{"id": t.ID, "version": t.Version, "name": t.Name, "spec": t.Spec, "variables": vars,
		"created_at": t.CreatedAt, "updated_at": t.UpdatedAt}
}

// templateLocked is a version of a template (0: the latest), or nil.
func (s *Server) templateLocked(id string, version int) *templates.Template {
	vs := s.tpls[id]
	switch {
	case len(vs) == 0 || version > len(vs):
		return nil
	case version == 0:
		return vs[len(vs)-1]
	}
	return vs[version-1]
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) {
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			Problem(w, http.StatusBadRequest, "SPEC_INVALID", "invalid query", FieldError{"version", "must be a version number, 1 or more"})
			return
		}
		version = n
	}
	s.mu.Lock()
	t := s.templateLocked(r.PathValue("id"), version)
	s.mu.Unlock()
	if t == nil {
		Problem(w, http.StatusNotFound, "NOT_FOUND", "no template "+r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, templateView(t))
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request) {
	d, ok := readDefinition(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.templateLocked(r.PathValue("id"), 0)
	if cur == nil {
		Problem(w, http.StatusNotFound, "NOT_FOUND", "no template "+r.PathValue("id"))
		return
	}
	next := cur.Clone()
	next.Definition, next.Version, next.UpdatedAt = *d, cur.Version+1, s.clock.Now().UTC()
	s.tpls[next.ID] = append(s.tpls[next.ID], next)
	writeJSON(w, http.StatusOK, templateView(next))
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.tpls[id] == nil {
		Problem(w, http.StatusNotFound, "NOT_FOUND", "no template "+id)
		return
	}
	delete(s.tpls, id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := pageOf(w, r, 100)
	if !ok {
		return
	}
	s.mu.Lock()
	var items []map[string]any
	for i := len(s.tplOrder) - 1; i >= 0; i-- {
		if t := s.templateLocked(s.tplOrder[i], 0); t != nil {
			items = append(items, templateView(t))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, page(items, limit, offset))
}

// pageOf reads ?limit= and ?cursor= ("c<offset>").
func pageOf(w http.ResponseWriter, r *http.Request, maxLimit int) (limit, offset int, ok bool) {
	q := r.URL.Query()
	limit = 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			Problem(w, http.StatusBadRequest, "SPEC_INVALID", "invalid query", FieldError{"limit", fmt.Sprintf("must be 1 to %d", maxLimit)})
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "c"))
		if err != nil || !strings.HasPrefix(v, "c") || n < 0 {
			Problem(w, http.StatusBadRequest, "SPEC_INVALID", "invalid query", FieldError{"cursor", "not a cursor this server gave"})
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

func page[T any](items []T, limit, offset int) map[string]any {
	out := map[string]any{"items": []T{}, "next_cursor": nil}
	if offset < len(items) {
		end := min(offset+limit, len(items))
		out["items"] = items[offset:end]
		if end < len(items) {
			out["next_cursor"] = "c" + strconv.Itoa(end)
		}
	}
	return out
}

// expandLocked expands a render request that names a template, or answers
// the problem and returns nil. The caller holds s.mu.
func (s *Server) expandLocked(w http.ResponseWriter, body []byte) (*spec.Spec, *templates.Template) {
	req, err := templates.ParseRequest(body)
	if err != nil {
		specProblem(w, err)
		return nil, nil
	}
	p, ok := s.preparedLocked(w, req.TemplateID, req.TemplateVersion)
	if !ok {
		return nil, nil
	}
	out, err := p.Render(req.Variables, req.Overrides)
	if err != nil {
		specProblem(w, err)
		return nil, nil
	}
	return out.Spec, p.Template()
}

func (s *Server) preparedLocked(w http.ResponseWriter, id string, version int) (*templates.Prepared, bool) {
	t := s.templateLocked(id, version)
	if t == nil {
		e := templates.VersionError(id, 0)
		if version > 0 && s.templateLocked(id, 0) != nil {
			e = templates.VersionError(id, version)
		}
		Problem(w, http.StatusNotFound, "NOT_FOUND", e.Message, FieldError(e.Fields[0]))
		return nil, false
	}
	p, err := templates.Prepare(t)
	if err != nil {
		Problem(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return nil, false
	}
	return p, true
}

// batch is one batch of the fake.
type batch struct {
	id, templateID   string
	version, total   int
	rows             []batchRow
	canceled         bool
	created          time.Time
	webhook          string
	finished         *time.Time
	metadata         map[string]string
	accepted, reject int
}

type batchRow struct {
	Row    int          `json:"row"`
	JobID  *string      `json:"job_id"`
	Status string       `json:"status"`
	Error  *JobError    `json:"error,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

func (s *Server) submitBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		Problem(w, http.StatusBadRequest, "SPEC_INVALID", err.Error())
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var req *templates.BatchRequest
	var p *templates.Prepared
	var ok bool
	switch mt {
	case "application/json":
		if req, err = templates.ParseBatch(body, 10000); err != nil {
			specProblem(w, err)
			return
		}
		if p, ok = s.preparedLocked(w, req.TemplateID, req.TemplateVersion); !ok {
			return
		}
	case "text/csv":
		q := r.URL.Query()
		req = &templates.BatchRequest{TemplateID: q.Get("template_id")}
		req.TemplateVersion, _ = strconv.Atoi(q.Get("template_version"))
		if wh := q.Get("webhook_url"); wh != "" {
			req.WebhookURL = &wh
		}
		if p, ok = s.preparedLocked(w, req.TemplateID, req.TemplateVersion); !ok {
			return
		}
		req.Rows, err = templates.ReadCSV(p.Template(), strings.NewReader(string(body)), 10000)
		if errors.Is(err, templates.ErrTooManyRows) {
			Problem(w, http.StatusBadRequest, "SPEC_INVALID", "too many rows", FieldError{"rows", "at most 10000 rows; split the batch"})
			return
		}
		if err != nil {
			specProblem(w, err)
			return
		}
	default:
		Problem(w, http.StatusUnsupportedMediaType, "SPEC_INVALID", "a batch is application/json or text/csv")
		return
	}
	s.seq++
	b := &batch{id: fmt.Sprintf("bat_%04d", s.seq), templateID: p.Template().ID, version: p.Template().Version,
		total: len(req.Rows), created: s.clock.Now().UTC(), metadata: map[string]string{}}
	if req.WebhookURL != nil {
		b.webhook = *req.WebhookURL
	}
	over := req.Overrides
	over.WebhookURL = nil
	for i, row := range req.Rows {
		br := batchRow{Row: i, Errors: fieldErrors(row.Errors)}
		if len(row.Errors) == 0 {
			if out, err := p.Render(row.Values, over); err != nil {
				var ce *errcode.Error
				errors.As(err, &ce)
				br.Errors = fieldErrors(ce.Fields)
			} else if missing := s.missingAssets(out.Spec); len(missing) > 0 {
				br.Errors = missing
			} else {
				norm, _ := json.Marshal(out.Spec)
				j := s.newJobLocked(out.Spec, norm)
				j.TemplateID, j.TemplateVersion, j.BatchID = b.templateID, b.version, b.id
				br.JobID, br.Status = &j.ID, "queued"
			}
		}
		if br.JobID == nil {
			br.Status = "rejected"
			b.reject++
		} else {
			b.accepted++
		}
		b.rows = append(b.rows, br)
	}
	s.batches[b.id] = b
	w.Header().Set("Location", "/v1/batches/"+b.id)
	writeJSON(w, http.StatusAccepted, s.batchViewLocked(b))
}

func fieldErrors(fs []errcode.FieldError) []FieldError {
	var out []FieldError
	for _, f := range fs {
		out = append(out, FieldError(f))
	}
	return out
}

// batchViewLocked is the batch with its rows' states now. The caller
// holds s.mu.
func (s *Server) batchViewLocked(b *batch) map[string]any {
	counts := map[string]int{"queued": 0, "running": 0, "succeeded": 0, "failed": 0, "canceled": 0, "rejected": 0}
	rejected := []map[string]any{}
	for i, r := range b.rows {
		if r.JobID == nil {
			counts["rejected"]++
			rejected = append(rejected, map[string]any{"row": r.Row, "errors": r.Errors})
			continue
		}
		j := s.jobs[*r.JobID]
		b.rows[i].Status, b.rows[i].Error = j.Status, j.Error
		counts[j.Status]++
	}
	status := "running"
	if counts["queued"]+counts["running"] == 0 {
		status = "completed"
		if b.canceled {
			status = "canceled"
		}
		if b.finished == nil {
			now := s.clock.Now().UTC()
			b.finished = &now
		}
	} else if b.canceled {
		status = "canceling"
	}
	return map[string]any{"id": b.id, "status": status, "template_id": b.templateID, "template_version": b.version,
		"total": b.total, "accepted": b.accepted, "rejected": rejected, "counts": counts, "created_at": b.created,
		"finished_at": b.finished, "metadata": b.metadata}
}

func (s *Server) lookupBatch(w http.ResponseWriter, r *http.Request) *batch {
	s.mu.Lock()
	b := s.batches[r.PathValue("id")]
	s.mu.Unlock()
	if b == nil {
		Problem(w, http.StatusNotFound, "NOT_FOUND", "no batch "+r.PathValue("id"))
	}
	return b
}

// stepLocked advances every row of b one step and returns the rows that
// ended with it. The caller holds s.mu.
func (s *Server) stepLocked(b *batch) []batchRow {
	var ended []batchRow
	for _, r := range b.rows {
		if r.JobID == nil {
			continue
		}
		j := s.jobs[*r.JobID]
		was := j.Status
		s.advance(j)
		if !terminal(was) && terminal(j.Status) {
			ended = append(ended, batchRow{Row: r.Row, JobID: r.JobID, Status: j.Status, Error: j.Error})
		}
	}
	return ended
}

func (s *Server) getBatch(w http.ResponseWriter, r *http.Request) {
	b := s.lookupBatch(w, r)
	if b == nil {
		return
	}
	limit, offset, ok := pageOf(w, r, 1000)
	if !ok {
		return
	}
	s.mu.Lock()
	s.stepLocked(b)
	v := s.batchViewLocked(b)
	p := page(append([]batchRow(nil), b.rows...), limit, offset)
	s.mu.Unlock()
	v["rows"], v["next_cursor"] = p["items"], p["next_cursor"]
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) cancelBatch(w http.ResponseWriter, r *http.Request) {
	b := s.lookupBatch(w, r)
	if b == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.batchViewLocked(b); v["status"] == "completed" || v["status"] == "canceled" {
		Problem(w, http.StatusConflict, "CONFLICT", "the batch has already ended")
		return
	}
	b.canceled = true
	now := s.clock.Now().UTC()
	for _, row := range b.rows {
		if row.JobID == nil {
			continue
		}
		if j := s.jobs[*row.JobID]; !terminal(j.Status) {
			j.Status, j.FinishedAt = "canceled", &now
			j.Error = &JobError{Code: "CANCELED", Message: "canceled by the client"}
			close(j.changed)
			j.changed = make(chan struct{})
		}
	}
	writeJSON(w, http.StatusAccepted, s.batchViewLocked(b))
}

// batchEvents streams the batch: its status, then a step of every row at
// a time, with a row event per row that ended and the status after each
// step, until the batch ends. A held row (Config.Hold) waits for a cancel.
func (s *Server) batchEvents(w http.ResponseWriter, r *http.Request) {
	b := s.lookupBatch(w, r)
	if b == nil {
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(typ string, data any) {
		d, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, d)
		rc.Flush()
	}
	last := ""
	for {
		s.mu.Lock()
		ended := s.stepLocked(b)
		v := s.batchViewLocked(b)
		s.mu.Unlock()
		for _, row := range ended {
			send("row", row)
		}
		if d, _ := json.Marshal(v); string(d) != last {
			send("status", v)
			last = string(d)
		}
		if v["status"] == "completed" || v["status"] == "canceled" {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Millisecond):
		}
	}
}
