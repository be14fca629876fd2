package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/fetch"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/internal/templates"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/services/assets"
	"github.com/stickerd/stickerd/services/batches"
	"github.com/stickerd/stickerd/services/gateway/resultcache"
	"github.com/stickerd/stickerd/services/submit"
)

// BatchStore keeps batch records and rows (batches.Etcd, batches.Memory):
// batches.ErrNotFound for another tenant's batch.
type BatchStore interface {
	Create(ctx context.Context, b *batches.Batch, rows []batches.Row) (*batches.Batch, error)
	Get(ctx context.Context, tenant, id string) (*batches.Batch, error)
	Rows(ctx context.Context, tenant, id string) ([]batches.Row, error)
	Update(ctx context.Context, tenant, id string, fn func(*batches.Batch) error) (*batches.Batch, error)
}

// BatchJobs makes and follows a batch's jobs (*jobstore.Store,
// *jobstore.Memory): many jobs in few transactions, many read at one
// revision, and the changes after it.
type BatchJobs interface {
	CreateMany(ctx context.Context, js []*jobs.Job) ([]*jobs.Job, error)
	GetMany(ctx context.Context, ids []jobs.ID) ([]*jobs.Job, int64, error)
	WatchJobs(ctx context.Context, fromRevision int64) (<-chan jobs.Event, error)
}

// Batch row listing limits.
const (
	defaultRowLimit = 100
	maxRowLimit     = 1000
	// batchEventInterval spaces a batch stream's status events.
	batchEventInterval = 250 * time.Millisecond
	// cancelParallel bounds the row cancels in flight.
	cancelParallel = 16
)

func (g *Gateway) batchesOn() error {
	if g.deps.Batches == nil || g.deps.BatchJobs == nil || g.deps.Templates == nil {
		return problem.New(errcode.NotFound, "this gateway keeps no batches")
	}
	return nil
}

func batchFault(err error, id string) error {
	if errors.Is(err, batches.ErrNotFound) {
		return &problem.Error{Code: errcode.NotFound, Detail: "no batch " + id, Cause: err}
	}
	return err
}

func badField(field, format string, args ...any) *problem.Error {
	f := problem.New(errcode.SpecInvalid, "the batch request is invalid")
	f.Fields = []errcode.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}
	return f
}

// submitBatch is POST /v1/batches: one template version and many rows of
// variables, as JSON ({"template_id", "rows": [...]}) or as CSV
// (?template_id=, a header row of variable names). Every row is checked
// as a template render is; the valid ones become jobs, written in a few
// large transactions, and the invalid ones are reported with their
// problems. 202 with the batch. It counts once against the rate limit
// and its rows against the queue: all of them fit, or 503.
func (g *Gateway) submitBatch(c *gin.Context) {
	if err := g.batchesOn(); err != nil {
		g.fail(c, err)
		return
	}
	req, p, err := g.readBatch(c)
	if err != nil {
		g.fail(c, err)
		return
	}
	tenant := tenantOf(c)
	webhook := ""
	if req.WebhookURL != nil {
		webhook = *req.WebhookURL
		if msg := g.webhookVerdict(c.Request.Context(), webhook); msg != "" {
			g.fail(c, badField("webhook_url", "%s", msg))
			return
		}
	}
	// The batch's webhook_url is the batch's: its rows send none.
	rowOverrides := req.Overrides
	rowOverrides.WebhookURL = nil
	t := p.Template()
	id := batches.NewID()
	now := g.clock.Now().UTC()
	memo := &refMemo{g: g, c: c, tenant: tenant, assets: map[string]assetLookup{}, hosts: map[string]string{}}
	rows := make([]batches.Row, len(req.Rows))
	var js []*jobs.Job
	for i, row := range req.Rows {
		rows[i].Row = i
		if len(row.Errors) > 0 {
			rows[i].Errors = row.Errors
			continue
		}
		r, err := p.Render(row.Values, rowOverrides)
		if err != nil {
			fields, ok := specFields(err)
			if !ok {
				g.fail(c, err)
				return
			}
			rows[i].Errors = fields
			continue
		}
		fields, err := memo.check(r.Spec)
		if err != nil {
			g.fail(c, err)
			return
		}
		if len(fields) > 0 {
			rows[i].Errors = r.MapFields(fields)
			continue
		}
		raw, err := json.Marshal(r.Spec)
		if err != nil {
			g.fail(c, errcode.Wrap(errcode.Internal, err, "encoding a row's spec"))
			return
		}
		j := &jobs.Job{ID: jobs.NewID(), Tenant: tenant, Status: jobs.Queued, Priority: jobs.Priority(r.Spec.Priority),
			CreatedAt: now, Spec: raw, Metadata: r.Spec.Metadata, TemplateID: t.ID, TemplateVersion: t.Version, BatchID: id}
		if j.Priority == "" {
			j.Priority = jobs.Normal
		}
		if j.Metadata == nil {
			j.Metadata = map[string]string{}
		}
		rows[i].JobID = j.ID
		js = append(js, j)
	}
	if err := g.admitRows(c, len(js)); err != nil {
		g.fail(c, err)
		return
	}
	b := &batches.Batch{ID: id, Tenant: tenant, TemplateID: t.ID, TemplateVersion: t.Version, Status: batches.Running,
		Total: len(rows), Accepted: len(js), Rejected: len(rows) - len(js), WebhookURL: webhook,
		Metadata: stringMap(req.Metadata), CreatedAt: now}
	// The jobs first, then the record that names them: a tracker that
	// hears of a row's end before the record exists finds it at its
	// next sweep.
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*g.cfg.StoreTimeout)
	defer cancel()
	created, err := g.deps.BatchJobs.CreateMany(ctx, js)
	if err == nil {
		_, err = g.deps.Batches.Create(ctx, b, rows)
	}
	if err != nil {
		g.abandon(c, tenant, created)
		g.fail(c, err)
		return
	}
	for _, j := range js {
		metrics.JobsSubmitted.WithLabelValues(string(j.Priority)).Inc()
	}
	c.Header("Location", "/v1/batches/"+id)
	c.JSON(http.StatusAccepted, batches.NewView(b, rows, batches.Counts{Queued: len(js), Rejected: b.Rejected}))
}

// readBatch reads a batch request, JSON or CSV, and its template.
func (g *Gateway) readBatch(c *gin.Context) (*templates.BatchRequest, *templates.Prepared, error) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "text/csv") {
		return nil, nil, problem.New(errcode.SpecInvalid, "a batch is JSON (application/json) or a CSV table (text/csv)").
			WithStatus(http.StatusUnsupportedMediaType)
	}
	if mt == "application/json" {
		body, err := g.readJSONBody(c, "a batch", g.cfg.MaxBatchBytes)
		if err != nil {
			return nil, nil, err
		}
		req, err := templates.ParseBatch(body, batches.MaxRows)
		if err != nil {
			return nil, nil, err
		}
		p, err := g.loadTemplate(c, req.TemplateID, req.TemplateVersion)
		return req, p, err
	}
	req := &templates.BatchRequest{TemplateID: c.Query("template_id")}
	if !templates.ValidID(req.TemplateID) {
		return nil, nil, badField("template_id", "a CSV batch names its template as ?template_id=tpl_…")
	}
	if s, ok := c.GetQuery("template_version"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, nil, badField("template_version", "must be a version number, 1 or more")
		}
		req.TemplateVersion = n
	}
	if s, ok := c.GetQuery("webhook_url"); ok {
		req.WebhookURL = &s
	}
	if c.Request.ContentLength > g.cfg.MaxBatchBytes {
		return nil, nil, problem.New(errcode.SpecInvalid, "the request body is %d bytes, over the limit of %d",
			c.Request.ContentLength, g.cfg.MaxBatchBytes).WithStatus(http.StatusRequestEntityTooLarge)
	}
	p, err := g.loadTemplate(c, req.TemplateID, req.TemplateVersion)
	if err != nil {
		return nil, nil, err
	}
	rows, err := templates.ReadCSV(p.Template(), http.MaxBytesReader(c.Writer, c.Request.Body, g.cfg.MaxBatchBytes), batches.MaxRows)
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, templates.ErrTooManyRows):
		return nil, nil, badField("rows", "at most %d rows; split the batch", batches.MaxRows)
	case errors.As(err, &mbe):
		return nil, nil, bodyFault(err)
	case err != nil:
		var ce *errcode.Error
		if errors.As(err, &ce) {
			return nil, nil, err
		}
		return nil, nil, &problem.Error{Code: errcode.SpecInvalid, Detail: "the request body could not be read", Cause: err}
	case len(rows) == 0:
		return nil, nil, badField("rows", "at least one row after the header")
	}
	req.Rows = rows
	return req, p, nil
}

// specFields are the field problems of a SPEC_INVALID error; ok is false
// for any other error.
func specFields(err error) ([]errcode.FieldError, bool) {
	var ce *errcode.Error
	if !errors.As(err, &ce) || ce.Code != errcode.SpecInvalid {
		return nil, false
	}
	if len(ce.Fields) == 0 {
		return []errcode.FieldError{{Field: "", Message: ce.Message}}, true
	}
	return ce.Fields, true
}

func stringMap(m map[string]any) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// abandon cancels the jobs of a batch whose creation failed half-way, so
// that no row of a batch the client was refused runs.
func (g *Gateway) abandon(c *gin.Context, tenant string, created []*jobs.Job) {
	if len(created) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 2*g.cfg.StoreTimeout)
	defer cancel()
	n := g.cancelJobs(ctx, tenant, created)
	g.log.Warn("a batch failed to be created; canceled the rows already written", "rows", len(created), "canceled", n)
}

// cancelJobs cancels every job of js that has not ended, several at once,
// and returns how many it canceled or asked to stop.
func (g *Gateway) cancelJobs(ctx context.Context, tenant string, js []*jobs.Job) int {
	sem := make(chan struct{}, cancelParallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for _, j := range js {
		if j == nil || j.Status.Terminal() {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := g.deps.Submitter.Cancel(ctx, tenant, j.ID); err == nil {
				mu.Lock()
				n++
				mu.Unlock()
			} else if !errors.Is(err, submit.ErrFinished) && !errors.Is(err, submit.ErrNotFound) {
				g.log.Warn("canceling a batch row failed", "job", j.ID, "err", err)
			}
		}()
	}
	wg.Wait()
	return n
}

// admitRows is the backpressure of a batch: all its rows fit under the
// queue limit (the estimate plus the rows), or none is admitted: 503
// QUEUE_UNAVAILABLE with a Retry-After of when they would. A batch larger
// than the whole limit is refused outright.
func (g *Gateway) admitRows(c *gin.Context, n int) error {
	if g.deps.QueueDepth == nil || n == 0 {
		return nil
	}
	if n > g.cfg.QueueDepthLimit {
		return badField("rows", "%d rows cannot fit a queue of at most %d jobs; split the batch", n, g.cfg.QueueDepthLimit)
	}
	a := g.admission()
	v := a.decideN(a.read(), n)
	if v.err != nil {
		g.failOpen(c, "queue_depth", v.err)
		return nil
	}
	if v.admit {
		return nil
	}
	return problem.New(errcode.QueueUnavailable, "the render queue cannot take the batch's %d rows now (about %d jobs waiting, limit %d); try again shortly",
		n, v.estimate, g.cfg.QueueDepthLimit).WithRetryAfter(v.retry)
}

// decideN admits n jobs at once when they all fit under the limit, and
// counts them as n admissions.
func (a *admission) decideN(r reading, n int) verdict {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	a.expire(now)
	if r.err != nil {
		for range n {
			a.record(now)
		}
		return verdict{admit: true, err: r.err}
	}
	a.sampleDrain(now, r.depth)
	v := verdict{estimate: r.depth + a.unseen()}
	if v.estimate+n <= a.limit {
		v.admit = true
		for range n {
			a.record(now)
		}
		return v
	}
	v.retry = a.maxRetry
	if a.drain > 0 {
		over := float64(v.estimate + n - a.limit)
		v.retry = min(max(time.Duration(math.Ceil(over/a.drain))*time.Second, time.Second), a.maxRetry)
	}
	return v
}

// webhookVerdict says why a batch's webhook_url cannot be used, or "".
func (g *Gateway) webhookVerdict(ctx context.Context, raw string) string {
	if len(raw) > spec.MaxURLLength {
		return fmt.Sprintf("at most %d characters", spec.MaxURLLength)
	}
	if err := fetch.CheckURL(raw); err != nil {
		return "must be an http or https URL without credentials"
	}
	u, _ := url.Parse(raw)
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	return g.hostVerdict(ctx, u.Hostname())
}

// refMemo checks the references of many rows' specs as checkRefs checks
// one's, looking each asset and each host up once per batch.
type refMemo struct {
	g      *Gateway
	c      *gin.Context
	tenant string
	assets map[string]assetLookup
	hosts  map[string]string // host → "" or why not
}

type assetLookup struct {
	a   *assets.Asset
	err error
}

// check returns the field problems of sp's references; an error is the
// store's, and fails the whole batch.
func (m *refMemo) check(sp *spec.Spec) ([]errcode.FieldError, error) {
	var fields []errcode.FieldError
	urls := []struct{ field, raw string }{{"source.url", sp.Source.URL}, {"webhook_url", sp.WebhookURL}}
	for i, st := range sp.Stickers {
		urls = append(urls, struct{ field, raw string }{fmt.Sprintf("stickers[%d].url", i), st.URL})
	}
	for _, r := range urls {
		if r.raw == "" {
			continue
		}
		if err := fetch.CheckURL(r.raw); err != nil {
			fields = append(fields, errcode.FieldError{Field: r.field, Message: "must be an http or https URL without credentials"})
			continue
		}
		u, _ := url.Parse(r.raw)
		why, seen := m.hosts[u.Hostname()]
		if !seen {
			ctx, cancel := context.WithTimeout(m.c.Request.Context(), lookupTimeout)
			why = m.g.hostVerdict(ctx, u.Hostname())
			cancel()
			m.hosts[u.Hostname()] = why
		}
		if why != "" {
			fields = append(fields, errcode.FieldError{Field: r.field, Message: why})
		}
	}
	for _, r := range resultcache.AssetRefs(sp) {
		l, seen := m.assets[r.ID]
		if !seen {
			ctx, cancel := m.g.storeCtx(m.c)
			l.a, l.err = m.g.deps.Assets.Get(ctx, m.tenant, r.ID)
			cancel()
			m.assets[r.ID] = l
		}
		switch {
		case errors.Is(l.err, assets.ErrNotFound):
			fields = append(fields, errcode.FieldError{Field: r.Field, Message: "no asset " + r.ID})
		case l.err != nil:
			return nil, l.err
		case l.a.Kind != roles[r.Role].kind:
			fields = append(fields, errcode.FieldError{Field: r.Field, Message: fmt.Sprintf("asset %s is a %s, which cannot be %s", l.a.ID, l.a.Kind, roles[r.Role].use)})
		}
	}
	return fields, nil
}

// loadBatch reads the state of the tenant's batch named in the path.
func (g *Gateway) loadBatch(c *gin.Context) (*batches.State, error) {
	if err := g.batchesOn(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*g.cfg.StoreTimeout)
	defer cancel()
	id := c.Param("id")
	st, err := batches.Load(ctx, g.deps.Batches, g.deps.BatchJobs, tenantOf(c), id)
	if err != nil {
		return nil, batchFault(err, id)
	}
	return st, nil
}

// batchView is the batch as it is now. A batch whose rows have all ended
// shows its end at once, before a tracker has recorded it.
func batchView(st *batches.State) batches.View {
	v := batches.NewView(st.Batch, st.Rows, st.Counts)
	if !st.Batch.Ended() && v.Counts.Unfinished() == 0 {
		v.Status = batches.Completed
		if st.Batch.CancelRequested {
			v.Status = batches.Canceled
		}
	}
	return v
}

// publicRows hides the text of INTERNAL errors, as a job's view does.
func publicRows(rows []batches.RowView) []batches.RowView {
	for i := range rows {
		rows[i].Error = publicError(rows[i].Error)
	}
	return rows
}

// getBatch is GET /v1/batches/{id}: the batch, its counts by status, and
// a page of its rows with their jobs (?limit=, ?cursor=).
func (g *Gateway) getBatch(c *gin.Context) {
	limit, offset := defaultRowLimit, 0
	var fields []errcode.FieldError
	if s, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxRowLimit {
			fields = append(fields, errcode.FieldError{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", maxRowLimit)})
		}
		limit = n
	}
	if s := c.Query("cursor"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n >= batches.MaxRows {
			fields = append(fields, errcode.FieldError{Field: "cursor", Message: "use next_cursor of the previous page"})
		}
		offset = n
	}
	if len(fields) > 0 {
		f := problem.New(errcode.SpecInvalid, "invalid query parameters")
		f.Fields = fields
		g.fail(c, f)
		return
	}
	st, err := g.loadBatch(c)
	if err != nil {
		g.fail(c, err)
		return
	}
	var next *string
	if offset+limit < len(st.Rows) {
		s := strconv.Itoa(offset + limit)
		next = &s
	}
	c.JSON(http.StatusOK, struct {
		batches.View
		Rows       []batches.RowView `json:"rows"`
		NextCursor *string           `json:"next_cursor"`
	}{batchView(st), publicRows(st.RowViews(offset, offset+limit)), next})
}

// cancelBatch is DELETE /v1/batches/{id}: every row that has not ended is
// canceled (a running one is stopped), and the batch ends canceled once
// they have. 202 with the batch; 409 when it already ended.
func (g *Gateway) cancelBatch(c *gin.Context) {
	st, err := g.loadBatch(c)
	if err != nil {
		g.fail(c, err)
		return
	}
	b := st.Batch
	ended := problem.New(errcode.Conflict, "the batch has already ended")
	if b.Ended() || st.Counts.Unfinished() == 0 {
		g.fail(c, ended)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 4*g.cfg.StoreTimeout)
	defer cancel()
	_, err = g.deps.Batches.Update(ctx, b.Tenant, b.ID, func(b *batches.Batch) error {
		if b.Ended() {
			return ended
		}
		b.CancelRequested = true
		return nil
	})
	switch {
	case errors.Is(err, ended):
		g.fail(c, ended)
		return
	case err != nil:
		g.fail(c, batchFault(err, b.ID))
		return
	}
	g.cancelJobs(ctx, b.Tenant, st.Jobs)
	if st, err = g.loadBatch(c); err != nil {
		g.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, batchView(st))
}

// batchEvents is GET /v1/batches/{id}/events, a Server-Sent Events
// stream: "status" with the batch and its counts (at once, then at most
// every 250 ms while they change), "row" with a row whose job ended, a
// comment line every HeartbeatInterval, and the end of the stream after
// the status of the batch's end.
func (g *Gateway) batchEvents(c *gin.Context) {
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	st, err := g.loadBatch(c)
	if err != nil {
		g.fail(c, err)
		return
	}
	var changes <-chan jobs.Event
	if st.Counts.Unfinished() > 0 {
		if changes, err = g.deps.BatchJobs.WatchJobs(ctx, st.Revision+1); err != nil {
			g.fail(c, err)
			return
		}
	}
	http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{})
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	write := func(event string, v any) bool {
		data, _ := json.Marshal(v)
		if _, err := c.Writer.WriteString("event: " + event + "\ndata: " + string(data) + "\n\n"); err != nil {
			return false
		}
		c.Writer.Flush()
		return true
	}
	if !write("status", batchView(st)) || st.Counts.Unfinished() == 0 {
		return
	}
	pos := make(map[jobs.ID]int, len(st.Jobs)) // job → index in st.Jobs
	rowOf := make([]int, 0, len(st.Jobs))      // index in st.Jobs → row
	for _, r := range st.Rows {
		if r.JobID != "" {
			pos[r.JobID] = len(rowOf)
			rowOf = append(rowOf, r.Row)
		}
	}
	beat := time.NewTicker(g.cfg.HeartbeatInterval)
	defer beat.Stop()
	tick := time.NewTicker(batchEventInterval)
	defer tick.Stop()
	dirty := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if _, err := c.Writer.WriteString(": heartbeat\n\n"); err != nil {
				return
			}
			c.Writer.Flush()
		case <-tick.C:
			if dirty && !write("status", batchView(st)) {
				return
			}
			dirty = false
		case ev, ok := <-changes:
			if !ok {
				return
			}
			if ev.Deleted || ev.Job == nil || ev.Job.BatchID != st.Batch.ID {
				continue
			}
			i, ok := pos[ev.Job.ID]
			if !ok {
				continue
			}
			prev := st.Jobs[i]
			st.Jobs[i] = ev.Job
			if prev != nil && prev.Status == ev.Job.Status {
				continue
			}
			recount(&st.Counts, prev, ev.Job)
			dirty = true
			if ev.Job.Status.Terminal() {
				rv := publicRows([]batches.RowView{batches.RowOf(rowOf[i], ev.Job)})[0]
				if !write("row", rv) {
					return
				}
			}
			if st.Counts.Unfinished() == 0 {
				// The end: the record as a tracker left it, if it has.
				rctx, rcancel := g.storeCtx(c)
				if b, err := g.deps.Batches.Get(rctx, st.Batch.Tenant, st.Batch.ID); err == nil {
					st.Batch = b
				}
				rcancel()
				write("status", batchView(st))
				return
			}
		}
	}
}

// recount moves a row from its job's old state to its new one.
func recount(c *batches.Counts, prev, next *jobs.Job) {
	bucket := func(j *jobs.Job) *int {
		switch {
		case j == nil:
			return &c.Failed
		case j.Status == jobs.Queued:
			return &c.Queued
		case j.Status == jobs.Running:
			return &c.Running
		case j.Status == jobs.Succeeded:
			return &c.Succeeded
		case j.Status == jobs.Canceled:
			return &c.Canceled
		}
		return &c.Failed
	}
	*bucket(prev)--
	*bucket(next)++
}
