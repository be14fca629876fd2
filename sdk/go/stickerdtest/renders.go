package stickerdtest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/templates"
	"github.com/stickerd/stickerd/render/spec"
)

// view is a job as the API shows it.
type view struct {
	ID         string            `json:"id"`
	Status     string            `json:"status"`
	Progress   float64           `json:"progress"`
	Attempts   int               `json:"attempts"`
	Priority   string            `json:"priority"`
	CreatedAt  time.Time         `json:"created_at"`
	StartedAt  *time.Time        `json:"started_at"`
	FinishedAt *time.Time        `json:"finished_at"`
	Worker     *string           `json:"worker"`
	Error      *JobError         `json:"error"`
	Output     *outputView       `json:"output"`
	Metadata   map[string]string `json:"metadata"`
	// The template version and batch of the job (templates.go).
	TemplateID      string `json:"template_id,omitempty"`
	TemplateVersion int    `json:"template_version,omitempty"`
	BatchID         string `json:"batch_id,omitempty"`
}

type outputView struct {
	URL      string  `json:"url"`
	Bytes    int64   `json:"bytes"`
	Format   string  `json:"format"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	Duration float64 `json:"duration"`
}

type job struct {
	view
	stage   int           // 0 queued, 1 running, 1+i after Steps[i-1], then the end
	body    string        // the request, to tell bodies apart
	out     outputView    // what success produces
	changed chan struct{} // closed and replaced on a cancel
}

func terminal(status string) bool {
	return status == "succeeded" || status == "failed" || status == "canceled"
}

// advance moves j one step on and says what kind of event that was ("" for
// none: the job ended, or is held). The caller holds s.mu.
func (s *Server) advance(j *job) string {
	now := s.clock.Now().UTC()
	switch {
	case terminal(j.Status):
		return ""
	case j.stage == 0:
		worker := "fake-worker-1"
		j.Status, j.StartedAt, j.Worker, j.stage = "running", &now, &worker, 1
		return "status"
	case j.stage <= len(s.cfg.Steps):
		j.Progress = s.cfg.Steps[j.stage-1]
		j.stage++
		return "progress"
	case s.cfg.Hold:
		return ""
	case s.cfg.Fail != nil:
		e := *s.cfg.Fail
		j.Status, j.Error, j.FinishedAt = "failed", &e, &now
	default:
		out := j.out
		j.Status, j.Progress, j.Output, j.FinishedAt = "succeeded", 1, &out, &now
		s.cache[j.body] = j.ID
	}
	return "status"
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, spec.MaxSpecBytes+1))
	if err != nil {
		Problem(w, http.StatusBadRequest, "SPEC_INVALID", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.UnavailableSubmits > 0 {
		s.cfg.UnavailableSubmits--
		w.Header().Set("Retry-After", strconv.Itoa(s.cfg.RetryAfter))
		Problem(w, http.StatusServiceUnavailable, "QUEUE_UNAVAILABLE", "the queue is over its depth limit")
		return
	}
	var sp *spec.Spec
	var from *templates.Template
	if templates.IsTemplateRequest(body) {
		if sp, from = s.expandLocked(w, body); sp == nil {
			return
		}
	} else if sp, err = spec.Parse(body, spec.ParseOptions{}); err != nil {
		specProblem(w, err)
		return
	}
	if fields := s.missingAssets(sp); len(fields) > 0 {
		Problem(w, http.StatusUnprocessableEntity, "ASSET_NOT_FOUND", "the spec names an asset that does not exist", fields...)
		return
	}
	// Requests are told apart by what they mean, not how they are spelled.
	norm, _ := json.Marshal(sp)
	key := r.Header.Get("Idempotency-Key")
	if id, ok := s.idem[key]; ok && key != "" {
		if s.jobs[id].body != string(norm) {
			Problem(w, http.StatusConflict, "CONFLICT", "Idempotency-Key "+key+" was used with another request body")
			return
		}
		s.answerSubmit(w, key, body, s.jobs[id], s.jobs[id].Status == "succeeded")
		return
	}
	if id, ok := s.cache[string(norm)]; ok {
		s.answerSubmit(w, key, body, s.jobs[id], true)
		return
	}
	j := s.newJobLocked(sp, norm)
	if from != nil {
		j.TemplateID, j.TemplateVersion = from.ID, from.Version
	}
	if key != "" {
		s.idem[key] = j.ID
	}
	s.answerSubmit(w, key, body, j, false)
}

// newJobLocked records a queued job of sp. The caller holds s.mu.
func (s *Server) newJobLocked(sp *spec.Spec, norm []byte) *job {
	s.seq++
	j := &job{view: view{ID: fmt.Sprintf("job_%04d", s.seq), Status: "queued", Attempts: 1,
		Priority: cmp.Or(sp.Priority, "normal"), CreatedAt: s.clock.Now().UTC(), Metadata: sp.Metadata},
		body: string(norm), changed: make(chan struct{})}
	if j.Metadata == nil {
		j.Metadata = map[string]string{}
	}
	j.out = outputView{URL: "/v1/renders/" + j.ID + "/output", Bytes: int64(s.cfg.OutputBytes),
		Format: cmp.Or(sp.Output.Format, "mp4"), Width: cmp.Or(sp.Output.Width, sp.Source.Width, 640),
		Height: cmp.Or(sp.Output.Height, sp.Source.Height, 360), Duration: cmp.Or(sp.Source.Duration, 5)}
	if spec.IsSnapshot(j.out.Format) {
		j.out.Duration = 0 // one frame, as the engine measures a snapshot
	}
	s.jobs[j.ID] = j
	s.order = append(s.order, j.ID)
	return j
}

func (s *Server) answerSubmit(w http.ResponseWriter, key string, body []byte, j *job, cached bool) {
	s.submits = append(s.submits, Submit{IdempotencyKey: key, Body: append(json.RawMessage(nil), body...),
		JobID: j.ID, Cached: cached})
	status := http.StatusAccepted
	if cached {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/v1/renders/"+j.ID)
	writeJSON(w, status, j.view)
}

// specProblem answers a spec the parser refused, as the gateway does.
func specProblem(w http.ResponseWriter, err error) {
	var e *errcode.Error
	if !errors.As(err, &e) {
		Problem(w, http.StatusBadRequest, "SPEC_INVALID", err.Error())
		return
	}
	fields := make([]FieldError, len(e.Fields))
	for i, f := range e.Fields {
		fields[i] = FieldError(f)
	}
	Problem(w, http.StatusBadRequest, string(e.Code), e.Message, fields...)
}

// missingAssets names every asset_id of sp that was never uploaded.
func (s *Server) missingAssets(sp *spec.Spec) []FieldError {
	var out []FieldError
	check := func(field, id string) {
		if _, ok := s.assets[id]; strings.HasPrefix(id, "ast_") && !ok {
			out = append(out, FieldError{Field: field, Message: "no asset " + id})
		}
	}
	check("source.asset_id", sp.Source.AssetID)
	for i, st := range sp.Stickers {
		check(fmt.Sprintf("stickers[%d].asset_id", i), st.AssetID)
		check(fmt.Sprintf("stickers[%d].font", i), st.Font)
	}
	return out
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, limit, offset := q.Get("status"), 20, 0
	var fields []FieldError
	if status != "" && status != "queued" && status != "running" && !terminal(status) {
		fields = append(fields, FieldError{"status", "must be queued, running, succeeded, failed or canceled"})
	}
	if v := q.Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 100 {
			fields = append(fields, FieldError{"limit", "must be 1 to 100"})
		} else {
			limit = n
		}
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "c"))
		if err != nil || !strings.HasPrefix(v, "c") || n < 0 {
			fields = append(fields, FieldError{"cursor", "not a cursor this server gave"})
		}
		offset = n
	}
	if len(fields) > 0 {
		Problem(w, http.StatusBadRequest, "SPEC_INVALID", "invalid query", fields...)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []view
	for i := len(s.order) - 1; i >= 0; i-- {
		if j := s.jobs[s.order[i]]; status == "" || j.Status == status {
			match = append(match, j.view)
		}
	}
	page := map[string]any{"items": []view{}, "next_cursor": nil}
	if offset < len(match) {
		end := min(offset+limit, len(match))
		page["items"] = match[offset:end]
		if end < len(match) {
			page["next_cursor"] = "c" + strconv.Itoa(end)
		}
	}
	writeJSON(w, http.StatusOK, page)
}
