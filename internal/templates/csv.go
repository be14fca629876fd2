package templates

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stickerd/stickerd/internal/errcode"
)

// Row is one row of a batch: the values given for it, and the problems
// found while reading them (a CSV cell that is not of its column's type).
type Row struct {
	Values map[string]any
	Errors []errcode.FieldError
}

// ErrTooManyRows is returned by ReadCSV for a table over its row limit.
var ErrTooManyRows = errors.New("templates: too many rows")

// ReadCSV reads a batch table for t: a header row of variable names, then
// one row of values per render. An empty cell leaves its variable out (its
// default applies); other cells are read as their variable's type
// (Variable.FromText). A header that names no variable of t, or names one
// twice, refuses the whole table (SPEC_INVALID naming columns.NAME); more
// than maxRows rows is ErrTooManyRows.
func ReadCSV(t *Template, r io.Reader, maxRows int) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0 // every row as long as the header
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, invalid("the CSV body is empty: send a header row of variable names, then a row per render", nil)
	}
	if err != nil {
		return nil, csvError(err)
	}
	names := make([]string, len(header))
	seen := map[string]bool{}
	var fields []errcode.FieldError
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		names[i] = h
		switch _, ok := t.Variables[h]; {
		case h == "":
			fields = append(fields, fieldErr(fmt.Sprintf("columns[%d]", i), "a column needs a variable name"))
		case !ok:
			fields = append(fields, fieldErr("columns."+h, "the template declares no variable %q", h))
		case seen[h]:
			fields = append(fields, fieldErr("columns."+h, "named twice"))
		}
		seen[h] = true
	}
	if len(fields) > 0 {
		return nil, invalid("the CSV header is invalid", fields)
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(rows) == maxRows {
			return nil, ErrTooManyRows
		}
		row := Row{Values: make(map[string]any, len(rec))}
		for i, cell := range rec {
			if cell == "" {
				continue
			}
			v, msg := t.Variables[names[i]].FromText(cell)
			if msg != "" {
				row.Errors = append(row.Errors, fieldErr("variables."+names[i], "%s", msg))
				continue
			}
			row.Values[names[i]] = v
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return invalid(fmt.Sprintf("the CSV body does not parse: line %d: %v", pe.Line, pe.Err), nil)
	}
	return fmt.Errorf("templates: reading the CSV body: %w", err)
}
