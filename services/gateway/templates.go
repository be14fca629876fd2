package gateway

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/internal/templates"
	"github.com/stickerd/stickerd/services/submit"
)

// TemplateStore keeps the tenants' templates (templates.Etcd, or
// templates.Memory): templates.ErrNotFound for another tenant's template
// or a version it does not have, templates.ErrInvalid for a bad cursor.
type TemplateStore interface {
	Create(ctx context.Context, t *templates.Template) (*templates.Template, error)
	Get(ctx context.Context, tenant, id string, version int) (*templates.Template, error)
	Update(ctx context.Context, tenant, id string, d templates.Definition) (*templates.Template, error)
	Delete(ctx context.Context, tenant, id string) error
	List(ctx context.Context, tenant string, o templates.ListOptions) ([]*templates.Template, string, error)
}

// publicTemplate is a template version as docs/api.md shows it.
type publicTemplate struct {
	ID        string                        `json:"id"`
	Version   int                           `json:"version"`
	Name      string                        `json:"name"`
	Spec      any                           `json:"spec"`
	Variables map[string]templates.Variable `json:"variables"`
	CreatedAt time.Time                     `json:"created_at"`
	UpdatedAt time.Time                     `json:"updated_at"`
}

func viewTemplate(t *templates.Template) publicTemplate {
	v := publicTemplate{ID: t.ID, Version: t.Version, Name: t.Name, Spec: t.Spec, Variables: t.Variables,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if v.Variables == nil {
		v.Variables = map[string]templates.Variable{}
	}
	return v
}

// errNoTemplates answers the template routes of a gateway built without a
// template store.
func errNoTemplates() error {
	return problem.New(errcode.NotFound, "this gateway keeps no templates")
}

// templateFault classifies a template store's errors for the template
// named in the path.
func templateFault(err error, id string) error {
	switch {
	case errors.Is(err, templates.ErrNotFound):
		return &problem.Error{Code: errcode.NotFound, Detail: "no template " + id, Cause: err}
	case errors.Is(err, templates.ErrInvalid):
		f := problem.New(errcode.SpecInvalid, "the cursor is not one this API issued")
		f.Fields = []errcode.FieldError{{Field: "cursor", Message: "use next_cursor of the previous page"}}
		return f
	}
	return err
}

// readJSONBody reads a JSON request body of at most limit bytes: 415 for
// another media type, 413 over the limit.
func (g *Gateway) readJSONBody(c *gin.Context, what string, limit int64) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, problem.New(errcode.SpecInvalid, "%s is JSON: send Content-Type: application/json", what).
			WithStatus(http.StatusUnsupportedMediaType)
	}
	if c.Request.ContentLength > limit {
		return nil, problem.New(errcode.SpecInvalid, "the request body is %d bytes, over the limit of %d",
			c.Request.ContentLength, limit).WithStatus(http.StatusRequestEntityTooLarge)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		return nil, bodyFault(err)
	}
	return body, nil
}

// readDefinition reads and checks the template a POST or PUT carries;
// false when it answered the request with the refusal.
func (g *Gateway) readDefinition(c *gin.Context) (*templates.Definition, bool) {
	if g.deps.Templates == nil {
		g.fail(c, errNoTemplates())
		return nil, false
	}
	body, err := g.readJSONBody(c, "a template", g.cfg.MaxSpecBytes)
	if err != nil {
		g.fail(c, err)
		return nil, false
	}
	d, err := templates.ParseDefinition(body)
	if err != nil {
		g.fail(c, err)
		return nil, false
	}
	return d, true
}

// createTemplate is POST /v1/templates: 201 with version 1.
func (g *Gateway) createTemplate(c *gin.Context) {
	d, ok := g.readDefinition(c)
	if !ok {
		return
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	t, err := g.deps.Templates.Create(ctx, &templates.Template{ID: templates.NewID(), Tenant: tenantOf(c), Definition: *d})
	if err != nil {
		g.fail(c, err)
		return
	}
	c.Header("Location", "/v1/templates/"+t.ID)
	c.JSON(http.StatusCreated, viewTemplate(t))
}

// updateTemplate is PUT /v1/templates/{id}: 200 with the new version.
// Renders that pinned an earlier version keep it.
func (g *Gateway) updateTemplate(c *gin.Context) {
	d, ok := g.readDefinition(c)
	if !ok {
		return
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	id := c.Param("id")
	t, err := g.deps.Templates.Update(ctx, tenantOf(c), id, *d)
	if err != nil {
		g.fail(c, templateFault(err, id))
		return
	}
	c.JSON(http.StatusOK, viewTemplate(t))
}

// getTemplate is GET /v1/templates/{id}[?version=N].
func (g *Gateway) getTemplate(c *gin.Context) {
	if g.deps.Templates == nil {
		g.fail(c, errNoTemplates())
		return
	}
	version := 0
	if s, ok := c.GetQuery("version"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			f := problem.New(errcode.SpecInvalid, "invalid query parameters")
			f.Fields = []errcode.FieldError{{Field: "version", Message: "must be a version number, 1 or more"}}
			g.fail(c, f)
			return
		}
		version = n
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	id := c.Param("id")
	t, err := g.deps.Templates.Get(ctx, tenantOf(c), id, version)
	if err != nil {
		if errors.Is(err, templates.ErrNotFound) && version > 0 {
			if _, lerr := g.deps.Templates.Get(ctx, tenantOf(c), id, 0); lerr == nil {
				g.fail(c, &problem.Error{Code: errcode.NotFound, Detail: "template " + id + " has no version " + strconv.Itoa(version), Cause: err})
				return
			}
		}
		g.fail(c, templateFault(err, id))
		return
	}
	c.JSON(http.StatusOK, viewTemplate(t))
}

// deleteTemplate is DELETE /v1/templates/{id}: 204; every version goes.
// Jobs already made from it keep their specs.
func (g *Gateway) deleteTemplate(c *gin.Context) {
	if g.deps.Templates == nil {
		g.fail(c, errNoTemplates())
		return
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	id := c.Param("id")
	if err := g.deps.Templates.Delete(ctx, tenantOf(c), id); err != nil {
		g.fail(c, templateFault(err, id))
		return
	}
	c.Status(http.StatusNoContent)
}

// listTemplates is GET /v1/templates: the latest version of each of the
// tenant's templates, newest first.
func (g *Gateway) listTemplates(c *gin.Context) {
	if g.deps.Templates == nil {
		g.fail(c, errNoTemplates())
		return
	}
	o := templates.ListOptions{Cursor: c.Query("cursor")}
	if s, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > templates.MaxListLimit {
			f := problem.New(errcode.SpecInvalid, "invalid query parameters")
			f.Fields = []errcode.FieldError{{Field: "limit", Message: "must be a whole number from 1 to 100"}}
			g.fail(c, f)
			return
		}
		o.Limit = n
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	list, next, err := g.deps.Templates.List(ctx, tenantOf(c), o)
	if err != nil {
		g.fail(c, templateFault(err, ""))
		return
	}
	items := make([]publicTemplate, len(list))
	for i, t := range list {
		items[i] = viewTemplate(t)
	}
	var cursor *string
	if next != "" {
		cursor = &next
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": cursor})
}

// loadTemplate reads the version a render or batch names: 404 naming
// template_id (or template_version) when the tenant has no such template
// (or version).
func (g *Gateway) loadTemplate(c *gin.Context, id string, version int) (*templates.Prepared, error) {
	if g.deps.Templates == nil {
		return nil, errNoTemplates()
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	t, err := g.deps.Templates.Get(ctx, tenantOf(c), id, version)
	if errors.Is(err, templates.ErrNotFound) {
		if version > 0 {
			if _, lerr := g.deps.Templates.Get(ctx, tenantOf(c), id, 0); lerr == nil {
				return nil, templates.VersionError(id, version)
			}
		}
		return nil, templates.VersionError(id, 0)
	}
	if err != nil {
		return nil, err
	}
	return templates.Prepare(t)
}

// submitTemplateRender is POST /v1/renders with a template_id: the
// template version's spec expanded with the request's variables, then
// everything a render request goes through (spec.Parse, the references,
// the result cache, the Idempotency-Key, backpressure). The job records
// the template id and version.
func (g *Gateway) submitTemplateRender(c *gin.Context, body []byte, idemKey string) {
	req, err := templates.ParseRequest(body)
	if err != nil {
		g.fail(c, err)
		return
	}
	p, err := g.loadTemplate(c, req.TemplateID, req.TemplateVersion)
	if err != nil {
		g.fail(c, err)
		return
	}
	r, err := p.Render(req.Variables, req.Overrides)
	if err != nil {
		g.fail(c, err)
		return
	}
	tenant := tenantOf(c)
	hashes, err := g.checkRefs(c, tenant, r.Spec)
	if err != nil {
		var pe *problem.Error
		if errors.As(err, &pe) {
			pe.Fields = r.MapFields(pe.Fields)
		}
		g.fail(c, err)
		return
	}
	t := p.Template()
	c.Request = c.Request.WithContext(submit.WithOrigin(c.Request.Context(), submit.Origin{TemplateID: t.ID, TemplateVersion: t.Version}))
	j, status, err := g.accept(c, tenant, r.Spec, hashes, idemKey)
	if err != nil {
		g.fail(c, err)
		return
	}
	c.Header("Location", "/v1/renders/"+string(j.ID))
	c.JSON(status, g.jobView(j))
}
