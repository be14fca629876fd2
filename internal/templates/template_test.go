package templates

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
)

// promo is a valid definition using every variable type.
const promo = `{"name":"promo","spec":{
  "source":{"color":"{{bg}}","width":320,"height":240,"duration":2},
  "stickers":[
    {"type":"text","text":"Hello {{name}}!","size":"{{size}}"},
    {"type":"image","asset_id":"{{logo}}","opacity":"{{alpha}}"},
    {"type":"text","text":"{{title}}","y":0.8}],
  "output":{"format":"mp4","audio":"{{audio}}"},
  "metadata":{"campaign":"spring"}},
 "variables":{
  "name":{"type":"text","max_length":20,"label":"Name","description":"Who the video greets"},
  "title":{"type":"text","default":"Sale","enum":["Sale","New"]},
  "size":{"type":"number","min":0.01,"max":0.5,"default":0.1},
  "bg":{"type":"color","default":"#102030"},
  "audio":{"type":"boolean","default":false},
  "logo":{"type":"asset"},
  "alpha":{"type":"number","default":1}}}`

// edit decodes promo, lets fn change it and encodes it again.
func edit(t *testing.T, fn func(d map[string]any)) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(promo), &d); err != nil {
		t.Fatal(err)
	}
	fn(d)
	b, _ := json.Marshal(d)
	return b
}

func vars(d map[string]any) map[string]any               { return d["variables"].(map[string]any) }
func variable(d map[string]any, n string) map[string]any { return vars(d)[n].(map[string]any) }
func sticker(d map[string]any, i int) map[string]any {
	return d["spec"].(map[string]any)["stickers"].([]any)[i].(map[string]any)
}

// fieldsOf returns the field errors of a SPEC_INVALID error.
func fieldsOf(t *testing.T, err error) []errcode.FieldError {
	t.Helper()
	var ce *errcode.Error
	if !errors.As(err, &ce) || ce.Code != errcode.SpecInvalid {
		t.Fatalf("error %v, want SPEC_INVALID", err)
	}
	return ce.Fields
}

// hasField checks that fields name field with a message holding msg.
func hasField(t *testing.T, fields []errcode.FieldError, field, msg string) {
	t.Helper()
	for _, f := range fields {
		if f.Field == field && strings.Contains(f.Message, msg) {
			return
		}
	}
	t.Fatalf("no %s: %q in %v", field, msg, fields)
}

func TestParseDefinition_Valid(t *testing.T) {
	d, err := ParseDefinition([]byte(promo))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "promo" || len(d.Variables) != 7 || d.Variables["name"].Label != "Name" {
		t.Fatalf("%+v", d)
	}
	// A variable without a default that fills a field the stand-in value
	// does not fit is checked at render time, not refused now.
	ok := edit(t, func(d map[string]any) {
		d["spec"].(map[string]any)["output"].(map[string]any)["width"] = "{{w}}"
		vars(d)["w"] = map[string]any{"type": "number"}
	})
	if _, err := ParseDefinition(ok); err != nil {
		t.Fatalf("a width without default: %v", err)
	}
}

// Every way a definition is refused names its field.
func TestParseDefinition_Errors(t *testing.T) {
	tests := []struct {
		name       string
		body       []byte
		field, msg string
	}{
		{"undeclared placeholder", edit(t, func(d map[string]any) { sticker(d, 0)["text"] = "Hi {{nme}}" }),
			"spec.stickers[0].text", "{{nme}} is not a declared variable"},
		{"a {{ that opens no placeholder", edit(t, func(d map[string]any) { sticker(d, 2)["text"] = "{{ 1x }} {{title}}" }),
			"spec.stickers[2].text", `"{{" must open a placeholder`},
		{"placeholder in a key", edit(t, func(d map[string]any) {
			d["spec"].(map[string]any)["metadata"] = map[string]any{"{{title}}": "x"}
		}), "spec.metadata.{{title}}", "not in object keys"},
		{"asset variable inside text", edit(t, func(d map[string]any) { sticker(d, 2)["text"] = "{{title}} {{logo}}" }),
			"spec.stickers[2].text", "asset variable {{logo}} must be the whole asset_id or url"},
		{"invalid default: out of range", edit(t, func(d map[string]any) { variable(d, "size")["default"] = 2 }),
			"variables.size.default", "must be at most 0.5"},
		{"invalid default: wrong type", edit(t, func(d map[string]any) { variable(d, "bg")["default"] = 5 }),
			"variables.bg.default", "must be a colour"},
		{"invalid default: not in enum", edit(t, func(d map[string]any) { variable(d, "title")["default"] = "Old" }),
			"variables.title.default", `must be one of "Sale", "New"`},
		{"invalid default: too long", edit(t, func(d map[string]any) { variable(d, "name")["default"] = strings.Repeat("a", 21) }),
			"variables.name.default", "at most 20 characters"},
		{"spec invalid with its defaults", edit(t, func(d map[string]any) { variable(d, "alpha")["default"] = 7 }),
			"variables.alpha.default", "as stickers[1].opacity: must be between 0 and 1"},
		{"spec invalid in itself", edit(t, func(d map[string]any) { sticker(d, 0)["colour"] = "red" }),
			"spec.stickers[0].colour", "unknown field"},
		{"spec missing the canvas duration", edit(t, func(d map[string]any) {
			delete(d["spec"].(map[string]any)["source"].(map[string]any), "duration")
		}), "spec.source.duration", ""},
		{"no type", edit(t, func(d map[string]any) { delete(variable(d, "alpha"), "type") }),
			"variables.alpha.type", "required"},
		{"unknown type", edit(t, func(d map[string]any) { variable(d, "alpha")["type"] = "float" }),
			"variables.alpha.type", `not "float"`},
		{"min on text", edit(t, func(d map[string]any) { variable(d, "name")["min"] = 1 }),
			"variables.name.min", "only number variables take min"},
		{"max_length on a number", edit(t, func(d map[string]any) { variable(d, "size")["max_length"] = 3 }),
			"variables.size.max_length", "only text variables take max_length"},
		{"min over max", edit(t, func(d map[string]any) { variable(d, "size")["min"] = 0.9 }),
			"variables.size.max", "must not be less than min"},
		{"enum on a boolean", edit(t, func(d map[string]any) { variable(d, "audio")["enum"] = []any{true} }),
			"variables.audio.enum", "only text, number and color variables take enum"},
		{"enum value of the wrong type", edit(t, func(d map[string]any) { variable(d, "title")["enum"] = []any{"Sale", 3} }),
			"variables.title.enum[1]", "must be a string"},
		{"unknown variable member", edit(t, func(d map[string]any) { variable(d, "size")["maximum"] = 1 }),
			"variables.size.maximum", "unknown field"},
		{"bad variable name", edit(t, func(d map[string]any) { vars(d)["1st"] = map[string]any{"type": "text", "default": "a"} }),
			"variables.1st", "a variable name is"},
		{"declared but unused", edit(t, func(d map[string]any) { vars(d)["extra"] = map[string]any{"type": "text"} }),
			"variables.extra", "declared but used nowhere"},
		{"unknown top-level field", edit(t, func(d map[string]any) { d["nam"] = "x" }), "nam", "unknown field"},
		{"no name", edit(t, func(d map[string]any) { delete(d, "name") }), "name", "required"},
		{"no spec", edit(t, func(d map[string]any) { delete(d, "spec") }), "spec", "required"},
		{"spec not an object", edit(t, func(d map[string]any) { d["spec"] = "x" }), "spec", "must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDefinition(tt.body)
			hasField(t, fieldsOf(t, err), tt.field, tt.msg)
		})
	}
}

func prepared(t *testing.T, body string) *Prepared {
	t.Helper()
	d, err := ParseDefinition([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(&Template{ID: "tpl_test", Tenant: "acme", Version: 1, Definition: *d})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// given decodes a variables object.
func given(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := decodeValue(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func TestRender_Substitutes(t *testing.T) {
	p := prepared(t, promo)
	r, err := p.Render(given(t, `{"name":"Ann","size":0.2,"audio":true,"logo":"ast_logo1","bg":"#FFFFFF80"}`),
		Overrides{Output: map[string]any{"format": "webm"}, Metadata: map[string]any{"order": "42"}})
	if err != nil {
		t.Fatal(err)
	}
	sp := r.Spec
	switch {
	case sp.Stickers[0].Text != "Hello Ann!", *sp.Stickers[0].Size != 0.2,
		sp.Stickers[1].AssetID != "ast_logo1", *sp.Stickers[1].Opacity != 1,
		sp.Stickers[2].Text != "Sale", sp.Source.Color != "#FFFFFF80",
		!sp.Output.AudioEnabled(), sp.Output.Format != "webm",
		sp.Metadata["campaign"] != "spring", sp.Metadata["order"] != "42":
		t.Fatalf("expanded spec %+v", sp)
	}
	// An asset variable given a URL fills the url member instead.
	r, err = p.Render(given(t, `{"name":"Ann","logo":"https://example.com/logo.png"}`), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Spec.Stickers[1]; st.URL != "https://example.com/logo.png" || st.AssetID != "" {
		t.Fatalf("sticker %+v", st)
	}
}

// Every way a request's variables are refused names the variable.
func TestRender_VariableErrors(t *testing.T) {
	p := prepared(t, promo)
	tests := []struct {
		name, vars, field, msg string
	}{
		{"missing without default", `{"logo":"ast_a"}`, "variables.name", "required"},
		{"undeclared", `{"name":"a","logo":"ast_a","titel":"x"}`, "variables.titel", `declares no variable "titel"`},
		{"text of the wrong type", `{"name":5,"logo":"ast_a"}`, "variables.name", "must be a string"},
		{"number of the wrong type", `{"name":"a","logo":"ast_a","size":"big"}`, "variables.size", "must be a number"},
		{"color of the wrong type", `{"name":"a","logo":"ast_a","bg":"red"}`, "variables.bg", "must be a colour"},
		{"boolean of the wrong type", `{"name":"a","logo":"ast_a","audio":"yes"}`, "variables.audio", "must be true or false"},
		{"asset of the wrong type", `{"name":"a","logo":7}`, "variables.logo", "asset id (ast_…) or an http(s) URL"},
		{"asset that is neither id nor URL", `{"name":"a","logo":"ftp://x/y.png"}`, "variables.logo", "asset id (ast_…) or an http(s) URL"},
		{"over max_length", `{"name":"` + strings.Repeat("é", 21) + `","logo":"ast_a"}`, "variables.name", "at most 20 characters, not 21"},
		{"under min", `{"name":"a","logo":"ast_a","size":0}`, "variables.size", "must be at least 0.01"},
		{"over max", `{"name":"a","logo":"ast_a","size":0.6}`, "variables.size", "must be at most 0.5"},
		{"not in enum", `{"name":"a","logo":"ast_a","title":"Old"}`, "variables.title", `must be one of "Sale", "New"`},
		{"refused by the render rules", `{"name":"a","logo":"ast_a","alpha":7}`, "variables.alpha", "as stickers[1].opacity: must be between 0 and 1"},
		{"a value holding a placeholder", `{"name":"{{title}}","logo":"ast_a"}`, "variables.name", `must not contain "{{"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Render(given(t, tt.vars), Overrides{})
			hasField(t, fieldsOf(t, err), tt.field, tt.msg)
		})
	}
	// An override keeps its own path.
	_, err := p.Render(given(t, `{"name":"a","logo":"ast_a"}`), Overrides{Output: map[string]any{"format": "mov"}})
	hasField(t, fieldsOf(t, err), "output.format", "must be one of")
}

// A value is put in once: text that looks like a placeholder is refused
// rather than expanded or left in the spec, and nothing of another
// variable leaks.
func TestRender_NoSecondPass(t *testing.T) {
	p := prepared(t, `{"name":"t","spec":{"source":{"color":"#000000","width":64,"height":64,"duration":1},
	  "stickers":[{"type":"text","text":"{{a}} and {{b}}"}]},
	  "variables":{"a":{"type":"text"},"b":{"type":"text","default":"SECRET"}}}`)
	_, err := p.Render(given(t, `{"a":"{{b}}"}`), Overrides{})
	hasField(t, fieldsOf(t, err), "variables.a", `must not contain "{{"`)
	r, err := p.Render(given(t, `{"a":"}} {b} {{"}`), Overrides{})
	if err == nil {
		t.Fatalf("a value with {{ rendered: %q", r.Spec.Stickers[0].Text)
	}
	r, err = p.Render(given(t, `{"a":"x}}"}`), Overrides{})
	if err != nil || r.Spec.Stickers[0].Text != "x}} and SECRET" {
		t.Fatalf("%v %+v", err, r)
	}
}

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest([]byte(`{"template_id":"tpl_abc","template_version":2,"variables":{"a":1.50},
	  "output":{"format":"gif"},"webhook_url":"https://h.example/x","metadata":{"k":"v"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.TemplateID != "tpl_abc" || r.TemplateVersion != 2 || r.Variables["a"] != json.Number("1.50") ||
		r.Output["format"] != "gif" || *r.WebhookURL != "https://h.example/x" || r.Metadata["k"] != "v" {
		t.Fatalf("%+v", r)
	}
	tests := []struct{ body, field string }{
		{`{"variables":{}}`, "template_id"},
		{`{"template_id":"job_x"}`, "template_id"},
		{`{"template_id":"tpl_a","template_version":0}`, "template_version"},
		{`{"template_id":"tpl_a","variables":[1]}`, "variables"},
		{`{"template_id":"tpl_a","spec":{}}`, "spec"},
		{`{"template_id":"tpl_a","output":3}`, "output"},
	}
	for _, tt := range tests {
		_, err := ParseRequest([]byte(tt.body))
		hasField(t, fieldsOf(t, err), tt.field, "")
	}
	if !IsTemplateRequest([]byte(`{"template_id":"tpl_a"}`)) || IsTemplateRequest([]byte(`{"source":{}}`)) {
		t.Fatal("IsTemplateRequest")
	}
}

func TestReadCSV(t *testing.T) {
	p := prepared(t, promo)
	rows, err := ReadCSV(p.Template(), strings.NewReader("name,size,audio,logo\nAnn,0.2,TRUE,ast_a\n\"Bo, Jr\",,false,https://x.example/l.png\nCy,big,maybe,ast_b\n"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Values["size"] != json.Number("0.2") || rows[0].Values["audio"] != true ||
		rows[1].Values["name"] != "Bo, Jr" || rows[1].Values["size"] != nil {
		t.Fatalf("rows %+v", rows)
	}
	hasField(t, rows[2].Errors, "variables.size", `must be a number, not "big"`)
	hasField(t, rows[2].Errors, "variables.audio", "must be true or false")
	// Rows bind like JSON ones.
	if _, err := p.Render(rows[1].Values, Overrides{}); err != nil {
		t.Fatal(err)
	}
	_, err = ReadCSV(p.Template(), strings.NewReader("name,titel\na,b\n"), 10)
	hasField(t, fieldsOf(t, err), "columns.titel", "declares no variable")
	if _, err := ReadCSV(p.Template(), strings.NewReader("name\na\nb\nc\n"), 2); !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("3 rows over a limit of 2: %v", err)
	}
}

func TestParseBatch(t *testing.T) {
	r, err := ParseBatch([]byte(`{"template_id":"tpl_a","rows":[{"name":"a"},3,{"size":0.2}],"webhook_url":"https://h.example/b"}`), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 3 || r.Rows[0].Values["name"] != "a" || len(r.Rows[1].Errors) != 1 || *r.WebhookURL != "https://h.example/b" {
		t.Fatalf("%+v", r)
	}
	_, err = ParseBatch([]byte(`{"template_id":"tpl_a","rows":[{},{},{}]}`), 2)
	hasField(t, fieldsOf(t, err), "rows", "at most 2 rows, not 3")
	if !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("%v is not ErrTooManyRows", err)
	}
	for _, tt := range []struct{ body, field string }{
		{`{"rows":[{}]}`, "template_id"},
		{`{"template_id":"tpl_a"}`, "rows"},
		{`{"template_id":"tpl_a","rows":[]}`, "rows"},
		{`{"template_id":"tpl_a","rows":{}}`, "rows"},
		{`{"template_id":"tpl_a","rows":[{}],"variables":{}}`, "variables"},
	} {
		_, err := ParseBatch([]byte(tt.body), 10)
		hasField(t, fieldsOf(t, err), tt.field, "")
	}
}
