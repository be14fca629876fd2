package gateway

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/internal/templates"
	"github.com/stickerd/stickerd/render/spec"
)

// submitRender is POST /v1/renders: 202 with a new (or, for a repeated
// Idempotency-Key, the earlier) job; 200 with a finished job that already
// rendered the identical request.
func (g *Gateway) submitRender(c *gin.Context) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/json" {
		g.fail(c, problem.New(errcode.SpecInvalid, "a render request is JSON: send Content-Type: application/json").
			WithStatus(http.StatusUnsupportedMediaType))
		return
	}
	if c.Request.ContentLength > g.cfg.MaxSpecBytes {
		g.fail(c, problem.New(errcode.SpecInvalid, "the request body is %d bytes, over the limit of %d",
			c.Request.ContentLength, g.cfg.MaxSpecBytes).WithStatus(http.StatusRequestEntityTooLarge))
		return
	}
	idemKey := c.GetHeader("Idempotency-Key")
	if idemKey == "" {
		if err := g.shedEarly(c); err != nil {
			g.fail(c, err)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, g.cfg.MaxSpecBytes))
	if err != nil {
		g.fail(c, bodyFault(err))
		return
	}
	if len(idemKey) > 255 || !printable(idemKey) {
		f := problem.New(errcode.SpecInvalid, "the Idempotency-Key header must be 1 to 255 visible ASCII characters")
		f.Fields = []errcode.FieldError{{Field: "Idempotency-Key", Message: "1 to 255 visible ASCII characters"}}
		g.fail(c, f)
		return
	}
	if templates.IsTemplateRequest(body) {
		g.submitTemplateRender(c, body, idemKey)
		return
	}
	sp, err := spec.Parse(body, spec.ParseOptions{})
	if err != nil {
		g.fail(c, err)
		return
	}
	tenant := tenantOf(c)
	hashes, err := g.checkRefs(c, tenant, sp)
	if err != nil {
		g.fail(c, err)
		return
	}
	j, status, err := g.accept(c, tenant, sp, hashes, idemKey)
	if err != nil {
		g.fail(c, err)
		return
	}
	c.Header("Location", "/v1/renders/"+string(j.ID))
	c.JSON(status, g.jobView(j))
}

// bodyFault: over the limit is 413, a body that breaks off is 400.
func bodyFault(err error) error {
	if f := problemOf(err); f.Status == http.StatusRequestEntityTooLarge {
		return f
	}
	return &problem.Error{Code: errcode.SpecInvalid, Detail: "the request body could not be read", Cause: err}
}

// create makes a new job, refusing it while the queue is over its limit.
// A non-empty id is the job's id (Submitter must be an IDSubmitter then).
func (g *Gateway) create(c *gin.Context, tenant string, id jobs.ID, sp *spec.Spec) (*jobs.Job, error) {
	if err := g.checkQueue(c); err != nil {
		return nil, err
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	var (
		j   *jobs.Job
		err error
	)
	if id != "" {
		j, err = g.deps.Submitter.(IDSubmitter).SubmitID(ctx, id, tenant, sp)
	} else {
		j, err = g.deps.Submitter.Submit(ctx, tenant, sp)
	}
	if err != nil {
		return nil, err
	}
	metrics.JobsSubmitted.WithLabelValues(string(j.Priority)).Inc()
	return j, nil
}

// checkQueue is the backpressure: 503 QUEUE_UNAVAILABLE, with a
// Retry-After of when the backlog will have drained, while the queue (the
// depth signal plus this gateway's admissions it may not count yet; see
// admission) is at its limit. A depth that cannot be read lets the job in.
func (g *Gateway) checkQueue(c *gin.Context) error {
	if g.deps.QueueDepth == nil {
		return nil
	}
	a := g.admission()
	var r reading
	if x, ok := c.Get(depthReadingKey); ok {
		r = x.(reading)
	} else {
		r = a.read()
	}
	v := a.decide(r)
	if v.err != nil {
		g.failOpen(c, "queue_depth", v.err)
		return nil
	}
	return queueFull(v)
}

// depthReadingKey keeps shedEarly's reading of the depth signal for the
// request's checkQueue.
const depthReadingKey = "stickerd.queue_depth_reading"

// shedEarly is checkQueue before the body is read and parsed, for a
// submission without an Idempotency-Key: under overload most submissions
// are shed, and each then costs only its refusal. (A retry with its key
// goes on to checkQueue: it may be answered with the job it made.) It
// counts no admission and leaves a signal that fails to checkQueue, which
// uses its reading.
func (g *Gateway) shedEarly(c *gin.Context) error {
	if g.deps.QueueDepth == nil {
		return nil
	}
	a := g.admission()
	r := a.read()
	c.Set(depthReadingKey, r)
	if v := a.peek(r); v.err == nil {
		return queueFull(v)
	}
	return nil
}

func queueFull(v verdict) error {
	if v.admit {
		return nil
	}
	return problem.New(errcode.QueueUnavailable, "the render queue is full (about %d jobs waiting); try again shortly",
		v.estimate).WithRetryAfter(v.retry)
}

// loadJob reads the tenant's job named in the path; another tenant's job
// is 404 like a missing one, and so is a task of a split job (the
// scheduler's record, not a client's).
func (g *Gateway) loadJob(c *gin.Context) (*jobs.Job, error) {
	return g.loadJobBy(c, g.deps.Jobs.Get)
}

// loadLatestJob is loadJob reading the store itself, not a cache that may
// trail it (LatestReader): for answers that refuse on the job's state.
func (g *Gateway) loadLatestJob(c *gin.Context) (*jobs.Job, error) {
	return g.loadJobBy(c, g.latestJob)
}

// latestJob reads the job from the store itself where Jobs is a cache.
func (g *Gateway) latestJob(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	if lr, ok := g.deps.Jobs.(LatestReader); ok {
		return lr.Latest(ctx, id)
	}
	return g.deps.Jobs.Get(ctx, id)
}

func (g *Gateway) loadJobBy(c *gin.Context, get func(context.Context, jobs.ID) (*jobs.Job, error)) (*jobs.Job, error) {
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	id := jobs.ID(c.Param("id"))
	j, err := get(ctx, id)
	if err != nil {
		return nil, notFoundIfInvalid(err)
	}
	if !j.OwnedBy(tenantOf(c)) {
		return nil, errNoJob()
	}
	return j, nil
}

func (g *Gateway) getRender(c *gin.Context) {
	j, err := g.loadJob(c)
	if err != nil {
		g.fail(c, err)
		return
	}
	g.rememberResult(c.Request.Context(), j)
	c.JSON(http.StatusOK, g.jobView(j))
}

// cancelRender is DELETE /v1/renders/{id}: 202 with the job (canceled, or
// still running with its worker told to stop); 409 when it already ended.
func (g *Gateway) cancelRender(c *gin.Context) {
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	j, err := g.deps.Submitter.Cancel(ctx, tenantOf(c), jobs.ID(c.Param("id")))
	if err != nil {
		g.fail(c, notFoundIfInvalid(err))
		return
	}
	c.JSON(http.StatusAccepted, g.jobView(j))
}

// listRenders is GET /v1/renders: the tenant's jobs newest first.
func (g *Gateway) listRenders(c *gin.Context) {
	o := jobstore.ListOptions{Tenant: tenantOf(c), Cursor: c.Query("cursor")}
	var fields []errcode.FieldError
	if s := c.Query("status"); s != "" {
		switch st := jobs.Status(s); st {
		case jobs.Queued, jobs.Running, jobs.Succeeded, jobs.Failed, jobs.Canceled:
			o.Status = st
		default:
			fields = append(fields, errcode.FieldError{Field: "status", Message: "must be queued, running, succeeded, failed or canceled"})
		}
	}
	if s, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > jobstore.MaxListLimit {
			fields = append(fields, errcode.FieldError{Field: "limit", Message: "must be a whole number from 1 to 100"})
		}
		o.Limit = n
	}
	if len(fields) > 0 {
		f := problem.New(errcode.SpecInvalid, "invalid query parameters")
		f.Fields = fields
		g.fail(c, f)
		return
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	list, next, err := g.deps.Jobs.List(ctx, o)
	if err != nil {
		if errors.Is(err, jobstore.ErrInvalid) {
			f := problem.New(errcode.SpecInvalid, "the cursor is not one this API issued")
			f.Fields = []errcode.FieldError{{Field: "cursor", Message: "use next_cursor of the previous page"}}
			err = f
		}
		g.fail(c, err)
		return
	}
	items := make([]publicJob, len(list))
	for i, j := range list {
		items[i] = g.jobView(j)
	}
	var cursor *string
	if next != "" {
		cursor = &next
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": cursor})
}
