package templates

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stickerd/stickerd/internal/errcode"
)

// Limits of a template definition.
const (
	MaxNameLength        = 200
	MaxVariables         = 100
	MaxVariableName      = 64
	MaxLabelLength       = 200
	MaxDescriptionLength = 2000
	MaxEnum              = 100
	// MaxTextLength bounds a text variable's max_length and any text
	// value (a text sticker holds at most 500 characters anyway).
	MaxTextLength = 10000
)

// Template is one version of a tenant's template.
type Template struct {
	ID      string `json:"id"`
	Tenant  string `json:"tenant"`
	Version int    `json:"version"`
	Definition
	// CreatedAt is when version 1 was made, UpdatedAt when this version was.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Revision is the store revision of the record (not stored).
	Revision int64 `json:"-"`
}

// Definition is what a client sends to create a template or a new
// version of it.
type Definition struct {
	Name      string              `json:"name"`
	Spec      json.RawMessage     `json:"spec"`
	Variables map[string]Variable `json:"variables"`
}

// Variable types.
const (
	TypeText    = "text"
	TypeNumber  = "number"
	TypeColor   = "color"
	TypeBoolean = "boolean"
	TypeAsset   = "asset"
)

// Types lists the variable types, in the order of docs/api.md.
var Types = []string{TypeText, TypeNumber, TypeColor, TypeBoolean, TypeAsset}

// Variable declares one placeholder name: its type, its default and its
// constraints, and a label and description for forms.
type Variable struct {
	Type string `json:"type"`
	// Default is the value used when a request leaves the variable out;
	// without one the variable is required.
	Default     json.RawMessage   `json:"default,omitempty"`
	MaxLength   *int              `json:"max_length,omitempty"`
	Min         *float64          `json:"min,omitempty"`
	Max         *float64          `json:"max,omitempty"`
	Enum        []json.RawMessage `json:"enum,omitempty"`
	Label       string            `json:"label,omitempty"`
	Description string            `json:"description,omitempty"`
}

// HasDefault reports whether the variable has a default.
func (v Variable) HasDefault() bool { return len(v.Default) > 0 && string(v.Default) != "null" }

// Clone returns a deep copy.
func (t *Template) Clone() *Template {
	c := *t
	c.Definition = t.Definition.clone()
	return &c
}

func (d Definition) clone() Definition {
	c := d
	c.Spec = append(json.RawMessage(nil), d.Spec...)
	if d.Variables != nil {
		c.Variables = make(map[string]Variable, len(d.Variables))
		for k, v := range d.Variables {
			v.Default = append(json.RawMessage(nil), v.Default...)
			if v.Enum != nil {
				v.Enum = append([]json.RawMessage(nil), v.Enum...)
			}
			c.Variables[k] = v
		}
	}
	return c
}

// Names returns the declared variable names, sorted.
func (d Definition) Names() []string {
	names := make([]string, 0, len(d.Variables))
	for n := range d.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewID returns a fresh template id: "tpl_" and 16 base32 characters.
func NewID() string { return "tpl_" + randomBase32(16) }

var idPattern = regexp.MustCompile(`^tpl_[0-9a-z]{1,64}$`)

// ValidID reports whether id has the shape of a template id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

const base32 = "0123456789abcdefghjkmnpqrstvwxyz"

func randomBase32(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i, v := range b {
		b[i] = base32[v&31]
	}
	return string(b)
}

// invalid is the SPEC_INVALID error listing fields.
func invalid(msg string, fields []errcode.FieldError) *errcode.Error {
	return &errcode.Error{Code: errcode.SpecInvalid, Message: msg, Fields: fields}
}

func fieldErr(field, format string, args ...any) errcode.FieldError {
	return errcode.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ParseDefinition reads a template definition strictly: a JSON object
// with "name", "spec" and "variables" and nothing else, each variable an
// object of the known fields. It then checks it (Check). Every problem is
// reported in one SPEC_INVALID error, each with its field path
// (variables.title.max_length, spec.stickers[0].text).
func ParseDefinition(data []byte) (*Definition, error) {
	top, err := decodeObject(data)
	if err != nil {
		return nil, invalid(err.Error(), nil)
	}
	var fields []errcode.FieldError
	var d Definition
	for _, k := range sortedKeys(top) {
		raw := top[k]
		switch k {
		case "name":
			if err := json.Unmarshal(raw, &d.Name); err != nil {
				fields = append(fields, fieldErr("name", "must be a string"))
			}
		case "spec":
			if !isObject(raw) {
				fields = append(fields, fieldErr("spec", "must be an object: a render request"))
				continue
			}
			d.Spec = raw
		case "variables":
			if string(raw) == "null" {
				continue
			}
			var vars map[string]json.RawMessage
			if err := json.Unmarshal(raw, &vars); err != nil {
				fields = append(fields, fieldErr("variables", "must be an object of variable declarations"))
				continue
			}
			d.Variables = map[string]Variable{}
			for _, name := range sortedKeys(vars) {
				v, errs := decodeVariable("variables."+name, vars[name])
				fields = append(fields, errs...)
				d.Variables[name] = v
			}
		default:
			fields = append(fields, fieldErr(k, "unknown field"))
		}
	}
	if _, ok := top["spec"]; !ok {
		fields = append(fields, fieldErr("spec", "required: the render request with {{name}} placeholders"))
	}
	if len(fields) > 0 {
		return nil, invalid("the template is invalid", fields)
	}
	if err := d.Check(); err != nil {
		return nil, err
	}
	return &d, nil
}

// variableFields are the members a variable declaration may have.
var variableFields = []string{"type", "default", "max_length", "min", "max", "enum", "label", "description"}

func decodeVariable(path string, raw json.RawMessage) (Variable, []errcode.FieldError) {
	var v Variable
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return v, []errcode.FieldError{fieldErr(path, "must be an object with a type")}
	}
	var errs []errcode.FieldError
	for _, k := range sortedKeys(m) {
		p, r := path+"."+k, m[k]
		if string(r) == "null" {
			continue
		}
		var err error
		switch k {
		case "type":
			err = json.Unmarshal(r, &v.Type)
		case "default":
			v.Default = r
		case "max_length":
			var n int
			if err = json.Unmarshal(r, &n); err == nil {
				v.MaxLength = &n
			} else {
				errs = append(errs, fieldErr(p, "must be a whole number"))
				continue
			}
		case "min":
			var f float64
			if err = json.Unmarshal(r, &f); err == nil {
				v.Min = &f
			}
		case "max":
			var f float64
			if err = json.Unmarshal(r, &f); err == nil {
				v.Max = &f
			}
		case "enum":
			if err = json.Unmarshal(r, &v.Enum); err != nil {
				errs = append(errs, fieldErr(p, "must be an array of allowed values"))
				continue
			}
		case "label":
			err = json.Unmarshal(r, &v.Label)
		case "description":
			err = json.Unmarshal(r, &v.Description)
		default:
			errs = append(errs, fieldErr(p, "unknown field"))
			continue
		}
		if err != nil {
			want := "must be a string"
			if k == "min" || k == "max" {
				want = "must be a number"
			}
			errs = append(errs, fieldErr(p, "%s", want))
		}
	}
	return v, errs
}

// decodeObject reads one JSON object and nothing after it.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, se)
		case errors.Is(err, io.EOF):
			return nil, errors.New("empty request body")
		}
		return nil, errors.New("the request must be a JSON object")
	}
	if m == nil {
		return nil, errors.New("the request must be a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("malformed JSON: data after the top-level value")
	}
	return m, nil
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkName checks a template's name.
func checkName(name string) []errcode.FieldError {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		return []errcode.FieldError{fieldErr("name", "required, not blank")}
	case !utf8.ValidString(name):
		return []errcode.FieldError{fieldErr("name", "must be valid UTF-8")}
	case n > MaxNameLength:
		return []errcode.FieldError{fieldErr("name", "at most %d characters, not %d", MaxNameLength, n)}
	}
	return nil
}
