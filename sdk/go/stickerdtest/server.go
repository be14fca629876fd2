package stickerdtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image sizes of uploaded stickers
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/internal/templates"
	"github.com/stickerd/stickerd/render/builtin"
)

// Config shapes the fake's behaviour. Start from DefaultConfig; the zero
// value is a well-behaved server too (zero fields take their defaults).
type Config struct {
	// APIKey, when set, is required as a bearer token.
	APIKey string
	// Steps are the progress values a running job reports (default 0.25, 0.5, 0.75).
	Steps []float64
	// Fail, when set, makes every job fail with this code and message.
	Fail *JobError
	// Hold keeps a job running after its steps until it is canceled.
	Hold bool
	// OutputBytes is the size of every output file (default 64 KiB).
	OutputBytes int
	// BreakOutputAfter cuts the first output download after that many bytes.
	BreakOutputAfter int64
	// BreakEventsAfter cuts the first event stream after that many events.
	BreakEventsAfter int
	// UnavailableSubmits answers the first that many submits 503, and
	// ThrottledGets the first that many GETs of a job 429, each with
	// Retry-After: RetryAfter seconds.
	UnavailableSubmits, ThrottledGets, RetryAfter int
	// MaxUploadBytes bounds an upload (default 32 MiB).
	MaxUploadBytes int64
	// OnRequest, when set, sees every request before it is handled.
	OnRequest func(*http.Request)
}

// DefaultConfig is a well-behaved server: three progress steps, 64 KiB
// outputs, 32 MiB uploads.
func DefaultConfig() Config {
	return Config{Steps: []float64{0.25, 0.5, 0.75}, OutputBytes: 64 << 10, MaxUploadBytes: 32 << 20}
}

// Validate reports the settings the fake cannot serve, joined.
func (c *Config) Validate() error {
	var errs []error
	for i, s := range c.Steps {
		if s < 0 || s > 1 {
			errs = append(errs, fmt.Errorf("stickerdtest: Steps[%d] = %v is not in [0, 1]", i, s))
		}
	}
	if c.OutputBytes < 0 || c.MaxUploadBytes < 0 || c.BreakOutputAfter < 0 || c.BreakEventsAfter < 0 ||
		c.UnavailableSubmits < 0 || c.ThrottledGets < 0 || c.RetryAfter < 0 {
		errs = append(errs, errors.New("stickerdtest: sizes, counts and RetryAfter must not be negative"))
	}
	return errors.Join(errs...)
}

// JobError is a failed job's error.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Upload is one stored asset.
type Upload struct {
	ID, Kind, Filename, ContentType string
	Data                            []byte
}

// Submit is one POST /v1/renders the fake accepted.
type Submit struct {
	IdempotencyKey string
	Body           json.RawMessage
	JobID          string
	Cached         bool
}

// Server is the fake; it is an http.Handler. Make it with New.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu       sync.Mutex
	seq      int
	assets   map[string]*Upload
	byHash   map[[sha256.Size]byte]string // the bytes' SHA-256 → asset id (dedup)
	jobs     map[string]*job
	order    []string // job ids, oldest first
	idem     map[string]string
	cache    map[string]string // body → succeeded job id
	submits  []Submit
	requests []string
	brokeOut bool
	brokeEv  bool
	clock    clock.Clock                      // stamps the jobs
	tpls     map[string][]*templates.Template // id → versions, oldest first (templates.go)
	tplOrder []string                         // template ids, oldest first
	batches  map[string]*batch
}

// New returns a fake configured by cfg; it panics when cfg does not pass
// Validate (a test's mistake).
func New(cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	d := DefaultConfig()
	if cfg.Steps == nil {
		cfg.Steps = d.Steps
	}
	if cfg.OutputBytes == 0 {
		cfg.OutputBytes = d.OutputBytes
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = d.MaxUploadBytes
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), assets: map[string]*Upload{}, byHash: map[[sha256.Size]byte]string{}, jobs: map[string]*job{},
		idem: map[string]string{}, cache: map[string]string{}, clock: clock.Real{},
		tpls: map[string][]*templates.Template{}, batches: map[string]*batch{}}
	s.mux.HandleFunc("POST /v1/assets", s.upload)
	s.mux.HandleFunc("POST /v1/renders", s.submit)
	s.mux.HandleFunc("GET /v1/renders", s.list)
	s.mux.HandleFunc("GET /v1/renders/{id}", s.get)
	s.mux.HandleFunc("DELETE /v1/renders/{id}", s.cancel)
	s.mux.HandleFunc("GET /v1/renders/{id}/events", s.events)
	s.mux.HandleFunc("GET /v1/renders/{id}/output", s.output)
	s.mux.HandleFunc("GET /v1/stickers", s.stickers)
	s.mux.HandleFunc("GET /v1/stickers/{name}", s.stickerImage)
	s.mux.HandleFunc("GET /openapi.json", s.openapi)
	s.mux.HandleFunc("POST /v1/templates", s.createTemplate)
	s.mux.HandleFunc("GET /v1/templates", s.listTemplates)
	s.mux.HandleFunc("GET /v1/templates/{id}", s.getTemplate)
	s.mux.HandleFunc("PUT /v1/templates/{id}", s.updateTemplate)
	s.mux.HandleFunc("DELETE /v1/templates/{id}", s.deleteTemplate)
	s.mux.HandleFunc("POST /v1/batches", s.submitBatch)
	s.mux.HandleFunc("GET /v1/batches/{id}", s.getBatch)
	s.mux.HandleFunc("DELETE /v1/batches/{id}", s.cancelBatch)
	s.mux.HandleFunc("GET /v1/batches/{id}/events", s.batchEvents)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	if s.cfg.OnRequest != nil {
		s.cfg.OnRequest(r)
	}
	if s.cfg.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.APIKey {
		Problem(w, http.StatusUnauthorized, "UNAUTHORIZED", "a valid API key is required")
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		Problem(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint: "+r.Method+" "+r.URL.Path)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Requests lists every request so far as "METHOD /path".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Submits lists the accepted submits, in order.
func (s *Server) Submits() []Submit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submit(nil), s.submits...)
}

// Asset returns an uploaded asset.
func (s *Server) Asset(id string) (*Upload, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.assets[id]
	return a, ok
}

// FieldError names one invalid field by its JSON path.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem writes an application/problem+json answer with the writer the
// gateway uses (internal/problem), so its body has the gateway's shape; a
// Retry-After set before stays. status 0 is the code's status in the
// gateway's table (errcode.Status).
func Problem(w http.ResponseWriter, status int, code, detail string, fields ...FieldError) {
	p := &problem.Error{Code: errcode.Code(code), Status: status, Detail: detail}
	for _, f := range fields {
		p.Fields = append(p.Fields, errcode.FieldError{Field: f.Field, Message: f.Message})
	}
	problem.Write(w, nil, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

var kinds = map[string]string{".mp4": "video", ".mov": "video", ".webm": "video", ".mkv": "video",
	".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".webp": "image",
	".ttf": "font", ".otf": "font"}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	up := &Upload{ContentType: r.Header.Get("Content-Type")}
	var err error
	if strings.HasPrefix(up.ContentType, "multipart/form-data") {
		f, hdr, ferr := r.FormFile("file")
		if ferr != nil {
			s.uploadErr(w, ferr, "multipart field \"file\" is required")
			return
		}
		defer f.Close()
		up.Filename, up.ContentType = hdr.Filename, hdr.Header.Get("Content-Type")
		up.Data, err = io.ReadAll(f)
	} else {
		up.Data, err = io.ReadAll(r.Body)
	}
	if err != nil {
		s.uploadErr(w, err, err.Error())
		return
	}
	up.Kind = kinds[strings.ToLower(path.Ext(up.Filename))]
	if up.Kind == "" {
		ct := up.ContentType
		if ct == "" || ct == "application/octet-stream" {
			ct = http.DetectContentType(up.Data)
		}
		major, _, _ := strings.Cut(ct, "/")
		up.Kind = map[string]string{"video": "video", "image": "image", "font": "font"}[major]
	}
	if up.Kind == "" || len(up.Data) == 0 {
		Problem(w, http.StatusUnprocessableEntity, "ASSET_UNSUPPORTED", "not a video, image or font")
		return
	}
	// The same bytes uploaded again are the same asset, answered 200, as
	// the gateway deduplicates a tenant's uploads (the fake has one tenant).
	sum := sha256.Sum256(up.Data)
	status := http.StatusCreated
	s.mu.Lock()
	if id, ok := s.byHash[sum]; ok {
		up, status = s.assets[id], http.StatusOK
	} else {
		s.seq++
		up.ID = fmt.Sprintf("ast_%04d", s.seq)
		s.assets[up.ID] = up
		s.byHash[sum] = up.ID
	}
	s.mu.Unlock()
	w.Header().Set("Location", "/v1/assets/"+up.ID)
	answer := map[string]any{"id": up.ID, "kind": up.Kind, "bytes": len(up.Data)}
	switch up.Kind {
	case "video":
		answer["width"], answer["height"], answer["duration"] = 640, 360, 5.0
	case "image":
		if c, _, err := image.DecodeConfig(bytes.NewReader(up.Data)); err == nil {
			answer["width"], answer["height"] = c.Width, c.Height
		}
	}
	writeJSON(w, status, answer)
}

func (s *Server) uploadErr(w http.ResponseWriter, err error, detail string) {
	if _, ok := err.(*http.MaxBytesError); ok || strings.Contains(err.Error(), "too large") {
		Problem(w, http.StatusRequestEntityTooLarge, "ASSET_TOO_LARGE",
			fmt.Sprintf("uploads are at most %d bytes", s.cfg.MaxUploadBytes))
		return
	}
	Problem(w, http.StatusBadRequest, "SPEC_INVALID", detail, FieldError{Field: "file", Message: detail})
}

func (s *Server) stickers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"items": builtin.List()})
}

func (s *Server) stickerImage(w http.ResponseWriter, r *http.Request) {
	st, err := builtin.Lookup(r.PathValue("name"))
	if err != nil {
		Problem(w, http.StatusNotFound, "NOT_FOUND", err.Error())
		return
	}
	var buf bytes.Buffer
	if err := builtin.Encode(st.Name, &buf); err != nil {
		Problem(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/"+st.Format)
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Write(buf.Bytes())
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"openapi": "3.1.0",
		"info": map[string]any{"title": "stickerd (fake)", "version": "1"}, "paths": map[string]any{}})
}
