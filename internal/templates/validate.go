package templates

import (
	"encoding/json"
	"errors"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/spec"
)

// Check checks a definition as creating a template does, and reports every
// problem in one SPEC_INVALID error with field paths:
//
//   - name: required, at most MaxNameLength characters;
//   - variables.NAME...: a valid name, a type, constraints only where
//     the type takes them, an enum and a default that fit the type and
//     constraints;
//   - spec.PATH: every "{{" opens a placeholder of a declared variable,
//     an asset variable fills a whole asset_id or url, and every declared
//     variable is used;
//   - the spec with the defaults filled in is a valid render request:
//     its own problems are named spec.PATH, a default the render request
//     refuses variables.NAME.default. A variable without a default is
//     filled with a stand-in for this check, and problems of the fields
//     it fills are left for render time, when its value is known.
func (d *Definition) Check() error {
	fields := checkName(d.Name)
	if len(d.Variables) > MaxVariables {
		fields = append(fields, fieldErr("variables", "at most %d variables, not %d", MaxVariables, len(d.Variables)))
	}
	for _, name := range d.Names() {
		fields = append(fields, checkDeclaration(name, d.Variables[name])...)
	}
	if len(d.Spec) == 0 {
		fields = append(fields, fieldErr("spec", "required: the render request with {{name}} placeholders"))
		return invalid("the template is invalid", fields)
	}
	l, errs := parseLayout(d.Spec, d.Variables)
	fields = append(fields, errs...)
	if l != nil && len(errs) == 0 {
		for _, name := range d.Names() {
			if len(l.uses[name]) == 0 {
				fields = append(fields, fieldErr("variables."+name, "declared but used nowhere in spec; use it as {{%s}} or remove it", name))
			}
		}
	}
	if len(fields) > 0 {
		return invalid("the template is invalid", fields)
	}
	// The spec with its defaults (and stand-ins) must be a render request.
	values := map[string]any{}
	for name, v := range d.Variables {
		if v.HasDefault() {
			values[name], _ = decodeValue(v.Default)
			values[name], _ = v.check(values[name])
		} else {
			values[name] = v.sample()
		}
	}
	x := l.expand(values)
	data, err := json.Marshal(x.tree)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err, "encoding the template spec")
	}
	if _, err := spec.Parse(data, spec.ParseOptions{}); err != nil {
		var ce *errcode.Error
		if !errors.As(err, &ce) {
			return err
		}
		if len(ce.Fields) == 0 {
			return invalid("the template's spec is not a valid render request", []errcode.FieldError{fieldErr("spec", "%s", ce.Message)})
		}
		for _, f := range ce.Fields {
			fed := x.fed[f.Field]
			switch {
			case len(fed) == 0:
				fields = append(fields, fieldErr(join("spec", f.Field), "%s", f.Message))
			case allDefaults(d.Variables, fed):
				for _, name := range fed {
					fields = append(fields, fieldErr("variables."+name+".default", "as %s: %s", f.Field, f.Message))
				}
			}
			// A field a stand-in filled is checked when the value is given.
		}
		if len(fields) > 0 {
			return invalid("the template's spec with its defaults is not a valid render request", fields)
		}
	}
	return nil
}

func allDefaults(vars map[string]Variable, names []string) bool {
	for _, n := range names {
		if !vars[n].HasDefault() {
			return false
		}
	}
	return true
}
