package templates

import (
	"encoding/json"
	"fmt"

	"github.com/stickerd/stickerd/internal/errcode"
)

// BatchRequest is POST /v1/batches with a JSON body: a template, one
// object of variable values per row, and the overrides every row takes.
// WebhookURL is the batch's own (sent once when the batch ends); the rows
// send none.
type BatchRequest struct {
	TemplateID      string
	TemplateVersion int
	Rows            []Row
	Overrides
}

// ParseBatch reads a batch request: template_id (required),
// template_version, rows (required, 1 to maxRows), output, webhook_url and
// metadata, and nothing else. A row that is not an object is kept with
// its problem (it is rejected, the others run); more than maxRows rows
// is ErrTooManyRows, with the count in the message.
func ParseBatch(data []byte, maxRows int) (*BatchRequest, error) {
	top, err := decodeObject(data)
	if err != nil {
		return nil, invalid(err.Error(), nil)
	}
	r := &BatchRequest{}
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
		case "rows":
			var rows []json.RawMessage
			if err := json.Unmarshal(raw, &rows); err != nil {
				fields = append(fields, fieldErr("rows", "must be an array of objects of variable values"))
				continue
			}
			if len(rows) > maxRows {
				return nil, &errcode.Error{Code: errcode.SpecInvalid, Message: fmt.Sprintf("a batch holds at most %d rows, not %d", maxRows, len(rows)),
					Fields: []errcode.FieldError{fieldErr("rows", "at most %d rows, not %d; split the batch", maxRows, len(rows))}, Cause: ErrTooManyRows}
			}
			r.Rows = make([]Row, len(rows))
			for i, raw := range rows {
				v, err := decodeValue(raw)
				m, ok := v.(map[string]any)
				if err != nil || !ok {
					r.Rows[i].Errors = []errcode.FieldError{fieldErr("variables", "a row is an object of variable values")}
					continue
				}
				r.Rows[i].Values = m
			}
		case "output", "webhook_url", "metadata":
		default:
			fields = append(fields, fieldErr(k, "unknown field"))
		}
	}
	if _, ok := top["template_id"]; !ok {
		fields = append(fields, fieldErr("template_id", "required"))
	}
	if _, ok := top["rows"]; !ok {
		fields = append(fields, fieldErr("rows", "required: an array of objects of variable values"))
	} else if len(r.Rows) == 0 && len(fields) == 0 {
		fields = append(fields, fieldErr("rows", "at least one row"))
	}
	if len(fields) > 0 {
		return nil, invalid("the batch request is invalid", fields)
	}
	return r, nil
}
