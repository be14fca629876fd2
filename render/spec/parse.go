package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/stickerd/stickerd/internal/errcode"
)

const msgUnknownField = "unknown field"

// MaxSpecBytes bounds the size of a request body that Parse accepts.
const MaxSpecBytes = 1 << 20

// ParseOptions tunes what Parse accepts.
type ParseOptions struct {
	// AllowPaths accepts "path" on the source and on image stickers: local
	// files, for the command-line client's --local mode only.
	AllowPaths bool
	// MaxDepth bounds JSON nesting (default 32).
	MaxDepth int
}

// Parse decodes data strictly and validates it. Unknown fields, wrong types
// and every broken rule are reported together in one *errcode.Error with
// code SPEC_INVALID, each with its JSON path.
func Parse(data []byte, opt ParseOptions) (*Spec, error) {
	if len(data) > MaxSpecBytes {
		return nil, invalid(FieldErr("", "request is %d bytes, at most %d", len(data), MaxSpecBytes))
	}
	if opt.MaxDepth == 0 {
		opt.MaxDepth = 32
	}
	raw, err := decodeGeneric(data)
	if err != nil {
		return nil, invalid(FieldErr("", "%s", err))
	}
	if d := depth(raw); d > opt.MaxDepth {
		return nil, invalid(FieldErr("", "JSON nested %d deep, at most %d", d, opt.MaxDepth))
	}
	var errs []errcode.FieldError
	checkShape(raw, reflect.TypeOf(Spec{}), "", &errs)
	for _, e := range errs {
		if e.Message != msgUnknownField {
			return nil, invalid(errs...) // a wrong type: the values cannot be read
		}
	}
	// Only unknown fields (or none): read the known ones and validate them
	// too, so that one round trip shows every problem.
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		// checkShape accepted it, so this is a value out of a Go type's range.
		return nil, invalid(append(errs, FieldErr("", "%s", err))...)
	}
	if err := s.Validate(opt); err != nil {
		var ve *errcode.Error
		if errors.As(err, &ve) {
			errs = append(errs, ve.Fields...)
		}
	}
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	s.ApplyDefaults()
	return &s, nil
}

func decodeGeneric(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, se)
		}
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty request body")
		}
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("malformed JSON: data after the top-level value")
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, errors.New("the request must be a JSON object")
	}
	return v, nil
}

func depth(v any) int {
	switch t := v.(type) {
	case map[string]any:
		m := 0
		for _, e := range t {
			m = max(m, depth(e))
		}
		return m + 1
	case []any:
		m := 0
		for _, e := range t {
			m = max(m, depth(e))
		}
		return m + 1
	}
	return 0
}

// checkShape walks the generic JSON value against the Go type and records
// unknown fields and type mismatches with their JSON paths.
func checkShape(v any, t reflect.Type, path string, errs *[]errcode.FieldError) {
	if v == nil { // JSON null: treated as "not set"
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			*errs = append(*errs, FieldErr(path, "must be an object"))
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := fields[k]
			if !ok {
				*errs = append(*errs, FieldErr(join(path, k), msgUnknownField))
				continue
			}
			checkShape(obj[k], f.Type, join(path, k), errs)
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			*errs = append(*errs, FieldErr(path, "must be an array"))
			return
		}
		for i, e := range arr {
			checkShape(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			*errs = append(*errs, FieldErr(path, "must be an object"))
			return
		}
		for k, e := range obj {
			checkShape(e, t.Elem(), join(path, k), errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			*errs = append(*errs, FieldErr(path, "must be a string"))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			*errs = append(*errs, FieldErr(path, "must be true or false"))
		}
	case reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			*errs = append(*errs, FieldErr(path, "must be a number"))
		}
	case reflect.Int, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			*errs = append(*errs, FieldErr(path, "must be a number"))
			return
		}
		if _, err := n.Int64(); err != nil {
			*errs = append(*errs, FieldErr(path, "must be a whole number"))
		}
	}
}

func jsonFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = f
	}
	return m
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// FieldErr builds one field error.
func FieldErr(field, format string, args ...any) errcode.FieldError {
	return errcode.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

func invalid(fields ...errcode.FieldError) *errcode.Error {
	msg := "the render request is invalid"
	if len(fields) == 1 && fields[0].Field == "" {
		return &errcode.Error{Code: errcode.SpecInvalid, Message: fields[0].Message}
	}
	return &errcode.Error{Code: errcode.SpecInvalid, Message: msg, Fields: fields}
}
