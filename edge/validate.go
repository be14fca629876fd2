package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/spec"
)

// specFrame wraps one sticker in a minimal valid render request, so that
// the live path checks stickers with exactly the rules and messages of
// the offline contract (render/spec).
const (
	specHead = `{"source":{"color":"#000000","width":16,"height":16,"duration":1},"stickers":[`
	specTail = `]}`
)

// updatable are the fields an update op may set.
var updatable = map[string]bool{"x": true, "y": true, "width": true, "rotation": true, "opacity": true,
	"text": true, "color": true, "size": true, "stroke_color": true, "stroke_width": true, "background": true}

// parseSticker validates the sticker object of an add op. Field paths in
// the error start with "sticker".
func parseSticker(raw json.RawMessage) (spec.Sticker, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return spec.Sticker{}, fieldErr("sticker", "is required")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return spec.Sticker{}, fieldErr("sticker", "must be a JSON object")
	}
	var fields []errcode.FieldError
	for _, k := range []string{"start", "end"} {
		if _, ok := keys[k]; ok {
			fields = append(fields, errcode.FieldError{Field: "sticker." + k,
				Message: "realtime stickers have no " + k + "; add and remove them instead"})
		}
	}
	if _, ok := keys["url"]; ok {
		fields = append(fields, errcode.FieldError{Field: "sticker.url",
			Message: "realtime sessions do not fetch URLs; upload the file and use asset_id"})
	}
	s, err := spec.Parse([]byte(specHead+string(raw)+specTail), spec.ParseOptions{MaxDepth: 8})
	if err != nil {
		var ce *errcode.Error
		if !errors.As(err, &ce) {
			return spec.Sticker{}, err
		}
		for _, f := range ce.Fields {
			if f.Field == "" {
				fields = append(fields, errcode.FieldError{Field: "sticker", Message: f.Message})
			} else if rest, ok := strings.CutPrefix(f.Field, "stickers[0]"); ok {
				fields = append(fields, errcode.FieldError{Field: "sticker" + rest, Message: f.Message})
			}
		}
		if len(ce.Fields) == 0 {
			fields = append(fields, errcode.FieldError{Field: "sticker", Message: ce.Message})
		}
	}
	if len(fields) > 0 {
		return spec.Sticker{}, invalidFields(fields)
	}
	st := s.Stickers[0]
	if st.Type == spec.TypeText && strings.HasPrefix(st.Font, "ast_") {
		return spec.Sticker{}, fieldErr("sticker.font", "uploaded fonts are not supported in realtime sessions yet; use sans, serif or mono")
	}
	st.Start, st.End = nil, nil
	return st, nil
}

// applyUpdate returns st with the update op's fields set, validated as a
// whole. Field paths in the error are the op's own ("x").
func applyUpdate(st spec.Sticker, fields map[string]json.RawMessage) (spec.Sticker, error) {
	if len(fields) == 0 {
		return st, fieldErr("", "an update sets at least one of x, y, width, rotation, opacity (text stickers also text, color, size)")
	}
	var bad []errcode.FieldError
	for k := range fields {
		if !updatable[k] {
			bad = append(bad, errcode.FieldError{Field: k, Message: "unknown or not updatable field; remove and add the sticker to change it"})
		}
	}
	if len(bad) > 0 {
		return st, invalidFields(bad)
	}
	// Merge onto the sticker's JSON form and validate the result as an add.
	cur, err := json.Marshal(st)
	if err != nil {
		return st, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(cur, &m); err != nil {
		return st, err
	}
	for k, v := range fields {
		m[k] = v
	}
	delete(m, "start")
	delete(m, "end")
	merged, _ := json.Marshal(m)
	out, err := parseSticker(merged)
	if err != nil {
		var ce *errcode.Error
		if errors.As(err, &ce) {
			for i := range ce.Fields {
				ce.Fields[i].Field = strings.TrimPrefix(ce.Fields[i].Field, "sticker.")
			}
			ce.Message = summary(ce.Fields)
		}
		return st, err
	}
	return out, nil
}

func fieldErr(field, msg string) *errcode.Error {
	return invalidFields([]errcode.FieldError{{Field: field, Message: msg}})
}

func invalidFields(fields []errcode.FieldError) *errcode.Error {
	return &errcode.Error{Code: errcode.SpecInvalid, Message: summary(fields), Fields: fields}
}

// summary joins field errors into one line for the message.
func summary(fields []errcode.FieldError) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		if f.Field == "" {
			parts[i] = f.Message
		} else {
			parts[i] = fmt.Sprintf("%s: %s", f.Field, f.Message)
		}
	}
	return strings.Join(parts, "; ")
}
