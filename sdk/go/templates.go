package stickerd

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// TemplateID names a template ("tpl_…").
type TemplateID string

// Variable declares one {{name}} of a template: its type ("text",
// "number", "color", "boolean" or "asset"), its default (without one the
// variable is required) and its constraints.
type Variable struct {
	Type        string            `json:"type"`
	Default     json.RawMessage   `json:"default,omitempty"`
	MaxLength   *int              `json:"max_length,omitempty"`
	Min         *float64          `json:"min,omitempty"`
	Max         *float64          `json:"max,omitempty"`
	Enum        []json.RawMessage `json:"enum,omitempty"`
	Label       string            `json:"label,omitempty"`
	Description string            `json:"description,omitempty"`
}

// TemplateDefinition is what creates a template or a new version of it:
// a render request whose string values may hold {{name}} placeholders,
// and the variables that fill them.
type TemplateDefinition struct {
	Name      string              `json:"name"`
	Spec      json.RawMessage     `json:"spec"`
	Variables map[string]Variable `json:"variables,omitempty"`
}

// Template is one version of a template.
type Template struct {
	ID        TemplateID          `json:"id"`
	Version   int                 `json:"version"`
	Name      string              `json:"name"`
	Spec      json.RawMessage     `json:"spec"`
	Variables map[string]Variable `json:"variables"`
	CreatedAt time.Time           `json:"created_at"`
	// UpdatedAt is when this version was made.
	UpdatedAt time.Time `json:"updated_at"`
}

// TemplateList is one page of GET /v1/templates, newest first.
type TemplateList struct {
	Items []Template `json:"items"`
	// NextCursor is empty on the last page.
	NextCursor string `json:"next_cursor"`
}

// PageOptions pages a listing. Zero values are left out.
type PageOptions struct {
	Limit  int
	Cursor string
}

func (o PageOptions) query() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// TemplateRender is a render request that names a template: the values of
// its variables, and what replaces or extends the template's own output,
// webhook_url and metadata.
type TemplateRender struct {
	TemplateID TemplateID `json:"template_id"`
	// TemplateVersion pins a version; 0 takes the latest.
	TemplateVersion int               `json:"template_version,omitempty"`
	Variables       map[string]any    `json:"variables,omitempty"`
	Output          map[string]any    `json:"output,omitempty"`
	WebhookURL      string            `json:"webhook_url,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

// encodeBody is a JSON body given as json.RawMessage, []byte, string or
// any value that encodes to it.
func encodeBody(v any) ([]byte, error) {
	switch s := v.(type) {
	case json.RawMessage:
		return s, nil
	case []byte:
		return s, nil
	case string:
		return []byte(s), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("stickerd: encoding the request: %w", err)
	}
	return b, nil
}

// CreateTemplate creates a template (version 1). def is a
// TemplateDefinition, or its JSON as json.RawMessage, []byte or string.
// The server checks it as a whole: a refusal is an *APIError whose Fields
// name each problem (variables.title.default, spec.stickers[0].text).
func (c *Client) CreateTemplate(ctx context.Context, def any) (*Template, error) {
	body, err := encodeBody(def)
	if err != nil {
		return nil, err
	}
	var t Template
	if _, err := c.sendJSON(ctx, request{method: http.MethodPost, path: "/v1/templates", body: body, contentType: "application/json"}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateTemplate makes a new version of a template; renders that pinned an
// earlier version keep it.
func (c *Client) UpdateTemplate(ctx context.Context, id TemplateID, def any) (*Template, error) {
	body, err := encodeBody(def)
	if err != nil {
		return nil, err
	}
	var t Template
	if _, err := c.sendJSON(ctx, request{method: http.MethodPut, path: templatePath(id), body: body, contentType: "application/json"}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// GetTemplate returns a version of a template, the latest when version is 0.
func (c *Client) GetTemplate(ctx context.Context, id TemplateID, version int) (*Template, error) {
	req := c.get(templatePath(id))
	if version > 0 {
		req.query = url.Values{"version": {strconv.Itoa(version)}}
	}
	var t Template
	if _, err := c.sendJSON(ctx, req, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTemplate deletes a template and every version of it.
func (c *Client) DeleteTemplate(ctx context.Context, id TemplateID) error {
	_, err := c.sendJSON(ctx, request{method: http.MethodDelete, path: templatePath(id)}, nil)
	return err
}

// ListTemplates returns one page of the tenant's templates (their latest
// versions), newest first.
func (c *Client) ListTemplates(ctx context.Context, opt PageOptions) (*TemplateList, error) {
	req := c.get("/v1/templates")
	req.query = opt.query()
	var l TemplateList
	if _, err := c.sendJSON(ctx, req, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllTemplates iterates over every template, fetching pages as it goes.
// It stops at the first error, which it yields.
func (c *Client) AllTemplates(ctx context.Context, opt PageOptions) iter.Seq2[*Template, error] {
	return pages(opt.Cursor, func(cursor string) ([]Template, string, error) {
		opt.Cursor = cursor
		page, err := c.ListTemplates(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		return page.Items, page.NextCursor, nil
	})
}

// RenderTemplate submits a render of a template version with the given
// variables, as SubmitRender submits a spec (and with the same options).
// A variable that is missing, mistyped, out of its constraints or
// undeclared is an *APIError naming variables.NAME.
func (c *Client) RenderTemplate(ctx context.Context, r TemplateRender, opts ...SubmitOption) (job *Job, cached bool, err error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, false, fmt.Errorf("stickerd: encoding the request: %w", err)
	}
	return c.SubmitRender(ctx, json.RawMessage(body), opts...)
}

func templatePath(id TemplateID) string { return "/v1/templates/" + url.PathEscape(string(id)) }
