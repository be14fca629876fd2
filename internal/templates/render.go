package templates

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/spec"
)

// Request is a render request that names a template instead of holding a
// spec: POST /v1/renders with a template_id.
type Request struct {
	TemplateID string
	// TemplateVersion pins a version; 0 takes the latest.
	TemplateVersion int
	// Variables are the values given, decoded (numbers as json.Number).
	Variables map[string]any
	Overrides
}

// Overrides are the parts of a render request given beside the template,
// which replace or extend the template's own.
type Overrides struct {
	// Output members replace the template's output members one by one.
	Output map[string]any
	// WebhookURL, when set, replaces the template's webhook_url.
	WebhookURL *string
	// Metadata keys are added to the template's metadata, replacing the
	// ones they name.
	Metadata map[string]any
}

// IsTemplateRequest reports whether a render request body names a
// template (has a top-level "template_id"), cheaply and without deciding
// whether the body is valid.
func IsTemplateRequest(data []byte) bool {
	var probe struct {
		TemplateID json.RawMessage `json:"template_id"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.TemplateID != nil
}

// ParseRequest reads a render request that names a template: a JSON
// object of template_id (required), template_version, variables, output,
// webhook_url and metadata, and nothing else. Problems are SPEC_INVALID
// with their field paths.
func ParseRequest(data []byte) (*Request, error) {
	top, err := decodeObject(data)
	if err != nil {
		return nil, invalid(err.Error(), nil)
	}
	r := &Request{}
	fields := r.readOverrides(top, "")
	for _, k := range sortedKeys(top) {
		raw := top[k]
		switch k {
		case "template_id":
			if json.Unmarshal(raw, &r.TemplateID) != nil || !ValidID(r.TemplateID) {
				fields = append(fields, fieldErr("template_id", "must be a template id (tpl_…)"))
			}
		case "template_version":
			fields = append(fields, readVersion(raw, &r.TemplateVersion)...)
		case "variables":
			v, err := decodeValue(raw)
			m, ok := v.(map[string]any)
			if err != nil || (!ok && v != nil) {
				fields = append(fields, fieldErr("variables", "must be an object of variable values"))
				continue
			}
			r.Variables = m
		case "output", "webhook_url", "metadata":
		default:
			fields = append(fields, fieldErr(k, "unknown field"))
		}
	}
	if _, ok := top["template_id"]; !ok {
		fields = append(fields, fieldErr("template_id", "required"))
	}
	if len(fields) > 0 {
		return nil, invalid("the render request is invalid", fields)
	}
	return r, nil
}

func readVersion(raw json.RawMessage, out *int) []errcode.FieldError {
	if string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil || *out < 1 {
		return []errcode.FieldError{fieldErr("template_version", "must be a version number, 1 or more")}
	}
	return nil
}

// readOverrides reads output, webhook_url and metadata of top.
func (o *Overrides) readOverrides(top map[string]json.RawMessage, prefix string) []errcode.FieldError {
	var fields []errcode.FieldError
	if raw, ok := top["output"]; ok && string(raw) != "null" {
		v, err := decodeValue(raw)
		m, isObj := v.(map[string]any)
		if err != nil || !isObj {
			fields = append(fields, fieldErr(prefix+"output", "must be an object"))
		}
		o.Output = m
	}
	if raw, ok := top["webhook_url"]; ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			fields = append(fields, fieldErr(prefix+"webhook_url", "must be a string"))
		}
		o.WebhookURL = &s
	}
	if raw, ok := top["metadata"]; ok && string(raw) != "null" {
		v, err := decodeValue(raw)
		m, isObj := v.(map[string]any)
		if err != nil || !isObj {
			fields = append(fields, fieldErr(prefix+"metadata", "must be an object of strings"))
		}
		o.Metadata = m
	}
	return fields
}

// Prepared is a template version ready to expand many times (a batch's
// rows): its spec is read once.
type Prepared struct {
	t      *Template
	layout *layout
}

// Prepare reads a stored template version for rendering.
func Prepare(t *Template) (*Prepared, error) {
	l, errs := parseLayout(t.Spec, t.Variables)
	if len(errs) > 0 {
		// It was checked when it was stored.
		return nil, errcode.New(errcode.Internal, "template %s v%d does not parse: %s", t.ID, t.Version, errs[0].Message)
	}
	return &Prepared{t: t, layout: l}, nil
}

// Template is the version being rendered.
func (p *Prepared) Template() *Template { return p.t }

// Bind checks the values given for a render against the variables: each
// one declared, of its type and within its constraints; every variable
// without a default given. It returns every variable's value, or the
// problems with field paths variables.NAME.
func (p *Prepared) Bind(given map[string]any) (map[string]any, []errcode.FieldError) {
	var fields []errcode.FieldError
	values := make(map[string]any, len(p.t.Variables))
	for _, name := range sortedKeys(given) {
		if _, ok := p.t.Variables[name]; !ok {
			fields = append(fields, fieldErr("variables."+name, "the template declares no variable %q", name))
		}
	}
	for _, name := range p.t.Names() {
		v := p.t.Variables[name]
		val, ok := given[name]
		if !ok || val == nil {
			if !v.HasDefault() {
				fields = append(fields, fieldErr("variables."+name, "required: the %s variable has no default", v.Type))
				continue
			}
			val, _ = decodeValue(v.Default)
		}
		checked, msg := v.check(val)
		if msg != "" {
			fields = append(fields, fieldErr("variables."+name, "%s", msg))
			continue
		}
		values[name] = checked
	}
	return values, fields
}

// Rendered is a template's spec expanded for one request.
type Rendered struct {
	Spec *spec.Spec
	// fed maps spec field paths to the variables that filled them.
	fed map[string][]string
}

// Render binds the request's values, expands the spec with them, applies
// the overrides and parses the result with spec.Parse, exactly as a
// render request is parsed. Every problem is SPEC_INVALID with a field
// path: variables.NAME for a value (also when it is the render request's
// rules that refuse it, naming the spec field in the message), the
// override's own path (output.format), or the spec path.
func (p *Prepared) Render(given map[string]any, o Overrides) (*Rendered, error) {
	values, fields := p.Bind(given)
	if len(fields) > 0 {
		return nil, invalid("the template's variables are invalid", fields)
	}
	x := p.layout.expand(values)
	o.apply(x.tree)
	if holdsPlaceholder(x.tree) {
		return nil, errcode.New(errcode.Internal, "template %s v%d left a placeholder in its expansion", p.t.ID, p.t.Version)
	}
	data, err := json.Marshal(x.tree)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "encoding the expanded spec")
	}
	r := &Rendered{fed: x.fed}
	sp, err := spec.Parse(data, spec.ParseOptions{})
	if err != nil {
		var ce *errcode.Error
		if errors.As(err, &ce) {
			out := *ce
			out.Fields = r.MapFields(ce.Fields)
			return nil, &out
		}
		return nil, err
	}
	r.Spec = sp
	return r, nil
}

// MapFields names, for each problem with a field a variable filled, the
// variable (variables.NAME, with the spec field in the message); other
// problems keep their paths.
func (r *Rendered) MapFields(fields []errcode.FieldError) []errcode.FieldError {
	var out []errcode.FieldError
	for _, f := range fields {
		names := r.fed[f.Field]
		if len(names) == 0 {
			out = append(out, f)
			continue
		}
		for _, n := range names {
			out = append(out, fieldErr("variables."+n, "as %s: %s", f.Field, f.Message))
		}
	}
	return out
}

// apply puts the overrides into an expanded spec tree.
func (o Overrides) apply(tree map[string]any) {
	if o.Output != nil {
		out, _ := tree["output"].(map[string]any)
		if out == nil {
			out = map[string]any{}
		}
		for k, v := range o.Output {
			out[k] = v
		}
		tree["output"] = out
	}
	if o.WebhookURL != nil {
		tree["webhook_url"] = *o.WebhookURL
	}
	if o.Metadata != nil {
		md, _ := tree["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
		}
		for k, v := range o.Metadata {
			md[k] = v
		}
		tree["metadata"] = md
	}
}

// VersionError is the problem of a request naming a template or version
// that is not there, for the field it names.
func VersionError(id string, version int) *errcode.Error {
	if version > 0 {
		return &errcode.Error{Code: errcode.NotFound, Message: fmt.Sprintf("template %s has no version %d", id, version),
			Fields: []errcode.FieldError{fieldErr("template_version", "template %s has no version %d", id, version)}}
	}
	return &errcode.Error{Code: errcode.NotFound, Message: "no template " + id,
		Fields: []errcode.FieldError{fieldErr("template_id", "no template %s", id)}}
}
