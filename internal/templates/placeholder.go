package templates

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/stickerd/stickerd/internal/errcode"
)

// placeholderAt matches a placeholder at the start of a string: {{name}},
// with optional spaces inside the braces.
var placeholderAt = regexp.MustCompile(`^\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}`)

// assetSite is where an asset variable may stand: the whole asset_id or
// url of the source or of a sticker.
var assetSite = regexp.MustCompile(`^(source|stickers\[\d+\])\.(asset_id|url)$`)

// segment is a piece of a templated string: literal text, or a variable.
type segment struct {
	text string
	name string // "" for literal text
}

// site is one string value of the spec that holds placeholders.
type site struct {
	path  []step // where the value is
	field string // its path as spec errors name it
	segs  []segment
	exact bool // the value is exactly one placeholder
}

// step is one move down the JSON tree: an object key or an array index.
type step struct {
	key   string
	index int // when key is ""
}

// layout is a template spec read once: its decoded tree and the strings
// that hold placeholders. Expanding copies the tree and fills the sites.
type layout struct {
	tree  map[string]any
	sites []site
	uses  map[string][]string // variable → the fields it fills
}

// parseLayout decodes a template spec and finds its placeholders. The
// errors name spec paths (prefixed with "spec."): a "{{" that opens no
// placeholder, a placeholder in an object key, a placeholder naming no
// declared variable, and an asset variable anywhere but a whole asset_id
// or url.
func parseLayout(raw json.RawMessage, vars map[string]Variable) (*layout, []errcode.FieldError) {
	v, err := decodeValue(raw)
	tree, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, []errcode.FieldError{fieldErr("spec", "must be an object: a render request")}
	}
	l := &layout{tree: tree, uses: map[string][]string{}}
	var errs []errcode.FieldError
	var walk func(v any, path []step, field string)
	walk = func(v any, path []step, field string) {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(t) {
				f := join(field, k)
				if strings.Contains(k, "{{") {
					errs = append(errs, fieldErr("spec."+f, "placeholders go in string values, not in object keys"))
					continue
				}
				walk(t[k], append(path[:len(path):len(path)], step{key: k}), f)
			}
		case []any:
			for i, e := range t {
				walk(e, append(path[:len(path):len(path)], step{index: i}), fmt.Sprintf("%s[%d]", field, i))
			}
		case string:
			segs, msg := split(t)
			if msg != "" {
				errs = append(errs, fieldErr("spec."+field, "%s", msg))
				return
			}
			if len(segs) == 1 && segs[0].name == "" {
				return // no placeholder
			}
			s := site{path: path, field: field, segs: segs, exact: len(segs) == 1}
			for _, sg := range segs {
				if sg.name == "" {
					continue
				}
				decl, ok := vars[sg.name]
				switch {
				case !ok:
					errs = append(errs, fieldErr("spec."+field, "{{%s}} is not a declared variable; declare it under variables", sg.name))
				case decl.Type == TypeAsset && (!s.exact || !assetSite.MatchString(field)):
					errs = append(errs, fieldErr("spec."+field, "the asset variable {{%s}} must be the whole asset_id or url of the source or of a sticker", sg.name))
				default:
					l.uses[sg.name] = append(l.uses[sg.name], field)
				}
			}
			l.sites = append(l.sites, s)
		}
	}
	walk(tree, nil, "")
	return l, errs
}

// split cuts a string into literal text and placeholders; msg says why a
// "{{" is not a placeholder.
func split(s string) ([]segment, string) {
	var segs []segment
	lit := 0
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			break
		}
		i += j
		m := placeholderAt.FindStringSubmatch(s[i:])
		if m == nil {
			return nil, `"{{" must open a placeholder such as {{name}} (a name of letters, digits and _)`
		}
		if lit < i {
			segs = append(segs, segment{text: s[lit:i]})
		}
		segs = append(segs, segment{name: m[1]})
		i += len(m[0])
		lit = i
	}
	if lit < len(s) || len(segs) == 0 {
		segs = append(segs, segment{text: s[lit:]})
	}
	return segs, ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// expansion is a spec with its placeholders filled, and which fields each
// variable filled (to name the variable in errors about those fields).
type expansion struct {
	tree map[string]any
	// fed maps a spec field path to the variables whose values are in it.
	fed map[string][]string
}

// expand fills every placeholder of l with values (which must hold every
// variable the layout uses, already checked). The values are put in
// once: a value is never scanned for placeholders.
func (l *layout) expand(values map[string]any) *expansion {
	x := &expansion{tree: deepCopy(l.tree).(map[string]any), fed: map[string][]string{}}
	for _, s := range l.sites {
		parent, last := x.locate(s.path)
		field := s.field
		var val any
		if s.exact {
			val = values[s.segs[0].name]
			if str, ok := val.(string); ok && assetSite.MatchString(field) && last.key != "" {
				// An asset variable's value decides the member: an id
				// is an asset_id, a URL a url.
				key := "url"
				if assetIDPattern.MatchString(str) {
					key = "asset_id"
				}
				if key != last.key {
					obj := parent.(map[string]any)
					delete(obj, last.key)
					last.key = key
					field = field[:len(field)-len(s.path[len(s.path)-1].key)] + key
				}
			}
		} else {
			var b strings.Builder
			for _, sg := range s.segs {
				if sg.name == "" {
					b.WriteString(sg.text)
				} else {
					b.WriteString(textOf(values[sg.name]))
				}
			}
			val = b.String()
		}
		set(parent, last, val)
		for _, sg := range s.segs {
			if sg.name != "" {
				x.fed[field] = appendUnique(x.fed[field], sg.name)
			}
		}
	}
	return x
}

// locate returns the container of the value at path and the last step.
func (x *expansion) locate(path []step) (any, step) {
	var cur any = x.tree
	for _, st := range path[:len(path)-1] {
		cur = child(cur, st)
	}
	return cur, path[len(path)-1]
}

func child(v any, st step) any {
	if st.key != "" {
		return v.(map[string]any)[st.key]
	}
	return v.([]any)[st.index]
}

func set(container any, st step, val any) {
	if st.key != "" {
		container.(map[string]any)[st.key] = val
		return
	}
	container.([]any)[st.index] = val
}

// textOf is a value as it reads inside a longer string.
func textOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		if f, err := t.Float64(); err == nil {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

func appendUnique(list []string, s string) []string {
	for _, e := range list {
		if e == s {
			return list
		}
	}
	return append(list, s)
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// holdsPlaceholder reports whether any string (value or key) of v holds
// "{{": the last guard that nothing is rendered with a raw placeholder.
func holdsPlaceholder(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if strings.Contains(k, "{{") || holdsPlaceholder(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if holdsPlaceholder(e) {
				return true
			}
		}
	case string:
		return strings.Contains(t, "{{")
	}
	return false
}
