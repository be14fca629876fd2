package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/spec"
)

var (
	namePattern    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	colorPattern   = regexp.MustCompile(`^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$`)
	assetIDPattern = regexp.MustCompile(`^ast_[A-Za-z0-9_-]{1,64}$`)
)

// checkDeclaration checks one variable's declaration: its name, type,
// constraints (each only on the types it applies to), enum and default.
func checkDeclaration(name string, v Variable) []errcode.FieldError {
	p := "variables." + name
	var errs []errcode.FieldError
	add := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	if !namePattern.MatchString(name) {
		add(p, "a variable name is 1 to %d letters, digits or _, not starting with a digit", MaxVariableName)
	}
	if !slices.Contains(Types, v.Type) {
		if v.Type == "" {
			add(p+".type", "required: one of %s", strings.Join(Types, ", "))
		} else {
			add(p+".type", "must be one of %s, not %q", strings.Join(Types, ", "), v.Type)
		}
		return errs // the rest depends on the type
	}
	if v.MaxLength != nil {
		switch {
		case v.Type != TypeText:
			add(p+".max_length", "only text variables take max_length")
		case *v.MaxLength < 1 || *v.MaxLength > MaxTextLength:
			add(p+".max_length", "must be 1 to %d", MaxTextLength)
		}
	}
	for _, b := range []struct {
		name string
		f    *float64
	}{{"min", v.Min}, {"max", v.Max}} {
		if b.f != nil && v.Type != TypeNumber {
			add(p+"."+b.name, "only number variables take %s", b.name)
		}
	}
	if v.Min != nil && v.Max != nil && *v.Min > *v.Max {
		add(p+".max", "must not be less than min (%s)", formatNumber(*v.Min))
	}
	if v.Enum != nil {
		switch {
		case v.Type == TypeBoolean || v.Type == TypeAsset:
			add(p+".enum", "only text, number and color variables take enum")
		case len(v.Enum) == 0 || len(v.Enum) > MaxEnum:
			add(p+".enum", "must list 1 to %d values", MaxEnum)
		default:
			bare := v
			bare.Enum = nil
			for i, raw := range v.Enum {
				val, err := decodeValue(raw)
				if err == nil {
					_, msg := bare.check(val)
					if msg != "" {
						add(fmt.Sprintf("%s.enum[%d]", p, i), "%s", msg)
					}
				} else {
					add(fmt.Sprintf("%s.enum[%d]", p, i), "must be a JSON value")
				}
			}
		}
	}
	if len(v.Label) > MaxLabelLength {
		add(p+".label", "at most %d bytes", MaxLabelLength)
	}
	if len(v.Description) > MaxDescriptionLength {
		add(p+".description", "at most %d bytes", MaxDescriptionLength)
	}
	if v.HasDefault() && len(errs) == 0 {
		val, err := decodeValue(v.Default)
		if err != nil {
			add(p+".default", "must be a JSON value")
		} else if _, msg := v.check(val); msg != "" {
			add(p+".default", "%s", msg)
		}
	}
	return errs
}

// decodeValue reads a JSON value with its numbers kept as json.Number.
func decodeValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// check checks a value (decoded by decodeValue, or from FromText) against
// the variable's type and constraints. It returns the value to put in the
// spec, or why the value is refused.
func (v Variable) check(val any) (any, string) {
	switch v.Type {
	case TypeText:
		s, ok := val.(string)
		if !ok {
			return nil, "must be a string"
		}
		if !utf8.ValidString(s) {
			return nil, "must be valid UTF-8"
		}
		if strings.Contains(s, "{{") {
			return nil, `must not contain "{{": a value is never expanded again`
		}
		n := utf8.RuneCountInString(s)
		if limit := v.maxLength(); n > limit {
			return nil, fmt.Sprintf("at most %d characters, not %d", limit, n)
		}
		if msg := v.inEnum(s); msg != "" {
			return nil, msg
		}
		return s, ""
	case TypeNumber:
		num, ok := val.(json.Number)
		if !ok {
			return nil, "must be a number"
		}
		f, err := num.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, "must be a finite number"
		}
		if v.Min != nil && f < *v.Min {
			return nil, fmt.Sprintf("must be at least %s, not %s", formatNumber(*v.Min), num)
		}
		if v.Max != nil && f > *v.Max {
			return nil, fmt.Sprintf("must be at most %s, not %s", formatNumber(*v.Max), num)
		}
		if msg := v.inEnum(num); msg != "" {
			return nil, msg
		}
		return num, ""
	case TypeColor:
		s, ok := val.(string)
		if !ok || !colorPattern.MatchString(s) {
			return nil, "must be a colour #RRGGBB or #RRGGBBAA"
		}
		if msg := v.inEnum(s); msg != "" {
			return nil, msg
		}
		return s, ""
	case TypeBoolean:
		b, ok := val.(bool)
		if !ok {
			return nil, "must be true or false"
		}
		return b, ""
	case TypeAsset:
		s, ok := val.(string)
		if !ok {
			return nil, "must be a string: an asset id (ast_…) or an http(s) URL"
		}
		if !assetIDPattern.MatchString(s) && !isURL(s) {
			return nil, "must be an asset id (ast_…) or an http(s) URL without credentials"
		}
		return s, ""
	}
	return nil, "has no valid type"
}

func (v Variable) maxLength() int {
	if v.MaxLength != nil {
		return *v.MaxLength
	}
	return MaxTextLength
}

// inEnum says why val is not one of the variable's enum values, or "".
func (v Variable) inEnum(val any) string {
	if v.Enum == nil {
		return ""
	}
	var shown []string
	for _, raw := range v.Enum {
		e, err := decodeValue(raw)
		if err != nil {
			continue
		}
		if sameValue(e, val) {
			return ""
		}
		shown = append(shown, string(raw))
	}
	return "must be one of " + strings.Join(shown, ", ")
}

func sameValue(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		x, err1 := a.Float64()
		y, err2 := bn.Float64()
		return err1 == nil && err2 == nil && x == y
	case string:
		bs, ok := b.(string)
		if !ok {
			return false
		}
		if colorPattern.MatchString(a) && colorPattern.MatchString(bs) {
			return strings.EqualFold(a, bs)
		}
		return a == bs
	}
	return false
}

func isURL(s string) bool {
	if len(s) > spec.MaxURLLength {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// FromText reads a value given as text (a CSV cell) as the variable's
// type: a number from its decimal form, a boolean from true or false (any
// case), anything else as the text itself. The value still goes through
// the same checks as a JSON one.
func (v Variable) FromText(s string) (any, string) {
	switch v.Type {
	case TypeNumber:
		t := strings.TrimSpace(s)
		if _, err := strconv.ParseFloat(t, 64); err != nil || !json.Valid([]byte(t)) {
			return nil, fmt.Sprintf("must be a number, not %q", s)
		}
		return json.Number(t), ""
	case TypeBoolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, ""
		case "false":
			return false, ""
		}
		return nil, fmt.Sprintf("must be true or false, not %q", s)
	}
	return s, ""
}

// sample is a stand-in value of a variable without a default, for
// checking the template's spec: its first enum value, or a value of its
// type within its bounds.
func (v Variable) sample() any {
	if len(v.Enum) > 0 {
		if e, err := decodeValue(v.Enum[0]); err == nil {
			return e
		}
	}
	switch v.Type {
	case TypeNumber:
		f := 1.0
		if v.Min != nil {
			f = *v.Min
		} else if v.Max != nil && *v.Max < f {
			f = *v.Max
		}
		return json.Number(formatNumber(f))
	case TypeColor:
		return "#000000"
	case TypeBoolean:
		return false
	case TypeAsset:
		return "ast_sample"
	}
	return "x"
}
