package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/internal/templates"
	"github.com/stickerd/stickerd/services/batches"
)

// withTemplates gives the gateway template and batch stores on the shared
// etcd member, the batches' jobs in the harness's job store.
func withTemplates() option {
	return func(h *harness) {
		h.depFns = append(h.depFns, func(h *harness, d *Deps) {
			prefix := fmt.Sprintf("/test/tpl/%s/%d", strings.ReplaceAll(h.t.Name(), "/", "_"), time.Now().UnixNano())
			d.Templates = templates.NewEtcd(shared, prefix)
			d.Batches = batches.NewEtcd(shared, prefix)
			d.BatchJobs = h.store
			if d.Resolver == nil {
				d.Resolver = fakeResolver{} // example.com does not resolve here: let through
			}
		})
	}
}

// greeting is a template of every variable type.
const greeting = `{"name":"greeting","spec":{
  "source":{"color":"{{bg}}","width":320,"height":240,"duration":1,"fps":10},
  "stickers":[{"type":"text","text":"Hello {{name}}!","size":"{{size}}"},
    {"type":"image","asset_id":"{{logo}}","opacity":"{{alpha}}"}],
  "output":{"format":"mp4","audio":"{{audio}}"}},
 "variables":{
  "name":{"type":"text","max_length":10,"enum":null},
  "size":{"type":"number","min":0.01,"max":0.5,"default":0.1},
  "bg":{"type":"color","default":"#102030"},
  "audio":{"type":"boolean","default":false},
  "logo":{"type":"asset","default":"https://example.com/logo.png"},
  "alpha":{"type":"number","default":1}}}`

func (h *harness) postJSON(path, body string, header ...string) *http.Response {
	h.t.Helper()
	return h.do("POST", path, strings.NewReader(body), append([]string{"Content-Type", "application/json"}, header...)...)
}

// createTemplate posts a definition and returns the template.
func (h *harness) createTemplate(def string, header ...string) publicTemplate {
	h.t.Helper()
	resp := h.postJSON("/v1/templates", def, header...)
	var t publicTemplate
	decode(h.t, resp, http.StatusCreated, &t)
	if resp.Header.Get("Location") != "/v1/templates/"+t.ID || t.Version != 1 || !strings.HasPrefix(t.ID, "tpl_") {
		h.t.Fatalf("created %+v at %q", t, resp.Header.Get("Location"))
	}
	return t
}

// fieldsHave checks that a problem names field with a message holding msg.
func fieldsHave(t *testing.T, p problem.Body, field, msg string) {
	t.Helper()
	for _, f := range p.Errors {
		if f.Field == field && strings.Contains(f.Message, msg) {
			return
		}
	}
	t.Fatalf("no %s: %q in %+v", field, msg, p.Errors)
}

func TestTemplates_CRUDAndVersions(t *testing.T) {
	h := newHarness(t, withTemplates())
	tpl := h.createTemplate(greeting)
	if tpl.Name != "greeting" || len(tpl.Variables) != 6 || tpl.Variables["size"].Min == nil {
		t.Fatalf("template %+v", tpl)
	}
	var got publicTemplate
	decode(t, h.do("GET", "/v1/templates/"+tpl.ID, nil), 200, &got)
	if got.ID != tpl.ID || got.Version != 1 {
		t.Fatalf("get %+v", got)
	}
	// PUT makes version 2 (another greeting); renders pin a version or
	// take the latest.
	v2 := strings.Replace(greeting, "Hello {{name}}!", "Bye {{name}}!", 1)
	resp := h.do("PUT", "/v1/templates/"+tpl.ID, strings.NewReader(v2), "Content-Type", "application/json")
	decode(t, resp, 200, &got)
	if got.Version != 2 || !got.CreatedAt.Equal(tpl.CreatedAt) {
		t.Fatalf("put %+v", got)
	}
	render := func(body string) *jobs.Job {
		t.Helper()
		var v publicJob
		decode(t, h.submit(body), http.StatusAccepted, &v)
		j, err := h.store.Get(h.ctx(), v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.TemplateID != tpl.ID || v.TemplateVersion != j.TemplateVersion {
			t.Fatalf("job view %+v", v)
		}
		return j
	}
	pinned := render(`{"template_id":"` + tpl.ID + `","template_version":1,"variables":{"name":"Ann"}}`)
	latest := render(`{"template_id":"` + tpl.ID + `","variables":{"name":"Ann"}}`)
	if pinned.TemplateID != tpl.ID || pinned.TemplateVersion != 1 || !strings.Contains(string(pinned.Spec), "Hello Ann!") {
		t.Fatalf("pinned v1: v%d %s", pinned.TemplateVersion, pinned.Spec)
	}
	if latest.TemplateVersion != 2 || !strings.Contains(string(latest.Spec), "Bye Ann!") {
		t.Fatalf("latest: v%d %s", latest.TemplateVersion, latest.Spec)
	}
	decode(t, h.do("GET", "/v1/templates/"+tpl.ID+"?version=1", nil), 200, &got)
	if got.Version != 1 {
		t.Fatalf("?version=1 answered v%d", got.Version)
	}
	checkProblem(t, h.do("GET", "/v1/templates/"+tpl.ID+"?version=3", nil), 404, errcode.NotFound)
	p := checkProblem(t, h.submit(`{"template_id":"`+tpl.ID+`","template_version":3,"variables":{"name":"A"}}`), 404, errcode.NotFound)
	fieldsHave(t, p, "template_version", "no version 3")

	// The list: newest first, paged.
	other := h.createTemplate(strings.Replace(greeting, `"greeting"`, `"other"`, 1))
	var list struct {
		Items      []publicTemplate `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	decode(t, h.do("GET", "/v1/templates?limit=1", nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != other.ID || list.NextCursor == nil {
		t.Fatalf("first page %+v", list)
	}
	decode(t, h.do("GET", "/v1/templates?limit=1&cursor="+*list.NextCursor, nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != tpl.ID || list.Items[0].Version != 2 || list.NextCursor != nil {
		t.Fatalf("second page %+v", list)
	}

	resp = h.do("DELETE", "/v1/templates/"+tpl.ID, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	checkProblem(t, h.do("GET", "/v1/templates/"+tpl.ID, nil), 404, errcode.NotFound)
	p = checkProblem(t, h.submit(`{"template_id":"`+tpl.ID+`","variables":{"name":"A"}}`), 404, errcode.NotFound)
	fieldsHave(t, p, "template_id", "no template")
	// The jobs made from it stay.
	if _, err := h.store.Get(h.ctx(), pinned.ID); err != nil {
		t.Fatal(err)
	}
}

// Another tenant's template is not found, whatever is asked of it.
func TestTemplates_TenantIsolation(t *testing.T) {
	h := newHarness(t, withTemplates(), withConfig(func(c *Config) {
		c.APIKeys = map[string]string{"sk_a": "acme", "sk_g": "globex"}
	}))
	tpl := h.createTemplate(greeting, "Authorization", "Bearer sk_a")
	g := []string{"Authorization", "Bearer sk_g"}
	checkProblem(t, h.do("GET", "/v1/templates/"+tpl.ID, nil, g...), 404, errcode.NotFound)
	checkProblem(t, h.do("PUT", "/v1/templates/"+tpl.ID, strings.NewReader(greeting), append(g, "Content-Type", "application/json")...), 404, errcode.NotFound)
	checkProblem(t, h.do("DELETE", "/v1/templates/"+tpl.ID, nil, g...), 404, errcode.NotFound)
	p := checkProblem(t, h.submit(`{"template_id":"`+tpl.ID+`","variables":{"name":"A"}}`, g...), 404, errcode.NotFound)
	fieldsHave(t, p, "template_id", "no template "+tpl.ID)
	checkProblem(t, h.postJSON("/v1/batches", `{"template_id":"`+tpl.ID+`","rows":[{"name":"A"}]}`, g...), 404, errcode.NotFound)
	var list struct{ Items []publicTemplate }
	decode(t, h.do("GET", "/v1/templates", nil, g...), 200, &list)
	if len(list.Items) != 0 {
		t.Fatalf("globex lists %+v", list.Items)
	}
	decode(t, h.do("GET", "/v1/templates/"+tpl.ID, nil, "Authorization", "Bearer sk_a"), 200, nil)
}

// A template is checked as a whole when it is created or changed; each
// problem names its field.
func TestTemplates_CreateRefusals(t *testing.T) {
	h := newHarness(t, withTemplates())
	tests := []struct {
		name, def, field, msg string
	}{
		{"undeclared placeholder", strings.Replace(greeting, "Hello {{name}}!", "Hello {{nmae}}!", 1), "spec.stickers[0].text", "{{nmae}} is not a declared variable"},
		{"invalid default", strings.Replace(greeting, `"default":0.1`, `"default":0.9`, 1), "variables.size.default", "at most 0.5"},
		{"spec invalid with its defaults", strings.Replace(greeting, `"alpha":{"type":"number","default":1}`, `"alpha":{"type":"number","default":3}`, 1),
			"variables.alpha.default", "as stickers[1].opacity"},
		{"spec invalid", strings.Replace(greeting, `"fps":10`, `"fps":10,"fsp":1`, 1), "spec.source.fsp", "unknown field"},
		{"unknown type", strings.Replace(greeting, `"type":"boolean"`, `"type":"bool"`, 1), "variables.audio.type", "must be one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := checkProblem(t, h.postJSON("/v1/templates", tt.def), 400, errcode.SpecInvalid)
			fieldsHave(t, p, tt.field, tt.msg)
		})
	}
	checkProblem(t, h.do("POST", "/v1/templates", strings.NewReader(greeting), "Content-Type", "text/plain"), 415, errcode.SpecInvalid)
	tpl := h.createTemplate(greeting)
	p := checkProblem(t, h.do("PUT", "/v1/templates/"+tpl.ID, strings.NewReader(tests[0].def), "Content-Type", "application/json"), 400, errcode.SpecInvalid)
	fieldsHave(t, p, tests[0].field, "")
}

// Every way a template render's variables are refused is a 400 naming
// the variable, and makes no job.
func TestTemplateRender_Refusals(t *testing.T) {
	h := newHarness(t, withTemplates())
	tpl := h.createTemplate(greeting)
	body := func(vars string) string { return `{"template_id":"` + tpl.ID + `","variables":` + vars + `}` }
	tests := []struct {
		name, vars, field, msg string
	}{
		{"missing without default", `{}`, "variables.name", "required"},
		{"undeclared", `{"name":"a","nmae":"b"}`, "variables.nmae", "declares no variable"},
		{"text of the wrong type", `{"name":7}`, "variables.name", "must be a string"},
		{"number of the wrong type", `{"name":"a","size":"0.2"}`, "variables.size", "must be a number"},
		{"color of the wrong type", `{"name":"a","bg":"blue"}`, "variables.bg", "must be a colour"},
		{"boolean of the wrong type", `{"name":"a","audio":1}`, "variables.audio", "must be true or false"},
		{"asset of the wrong type", `{"name":"a","logo":true}`, "variables.logo", "asset id (ast_…) or an http(s) URL"},
		{"over max_length", `{"name":"abcdefghijk"}`, "variables.name", "at most 10 characters"},
		{"under min", `{"name":"a","size":0.001}`, "variables.size", "at least 0.01"},
		{"over max", `{"name":"a","size":0.51}`, "variables.size", "at most 0.5"},
		{"refused by the render rules", `{"name":"a","alpha":-1}`, "variables.alpha", "as stickers[1].opacity"},
		{"a value holding another placeholder", `{"name":"{{bg}}"}`, "variables.name", `must not contain "{{"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := checkProblem(t, h.submit(body(tt.vars)), 400, errcode.SpecInvalid)
			fieldsHave(t, p, tt.field, tt.msg)
		})
	}
	// A value outside an enum.
	enum := h.createTemplate(strings.Replace(greeting, `"enum":null`, `"enum":["Ann","Bo"]`, 1))
	p := checkProblem(t, h.submit(`{"template_id":"`+enum.ID+`","variables":{"name":"Cy"}}`), 400, errcode.SpecInvalid)
	fieldsHave(t, p, "variables.name", `must be one of "Ann", "Bo"`)
	// An asset the tenant does not have names the variable too.
	p = checkProblem(t, h.submit(body(`{"name":"a","logo":"ast_nothere"}`)), 422, errcode.AssetNotFound)
	fieldsHave(t, p, "variables.logo", "as stickers[1].asset_id: no asset ast_nothere")
	// Unknown members of the request, and a spec beside the template.
	p = checkProblem(t, h.submit(`{"template_id":"`+tpl.ID+`","variables":{"name":"a"},"stickers":[]}`), 400, errcode.SpecInvalid)
	fieldsHave(t, p, "stickers", "unknown field")
	list, _, _ := h.store.List(h.ctx(), jobstore.ListOptions{Tenant: DefaultTenant})
	if len(list) != 0 {
		t.Fatalf("%d jobs made by refused requests", len(list))
	}
	// And one that works: typed values in place, overrides applied.
	var v publicJob
	decode(t, h.submit(`{"template_id":"`+tpl.ID+`","variables":{"name":"Ann","size":0.2,"audio":true},
	  "output":{"format":"webm"},"metadata":{"order":"7"}}`), 202, &v)
	j, _ := h.store.Get(h.ctx(), v.ID)
	var sp map[string]any
	json.Unmarshal(j.Spec, &sp)
	st := sp["stickers"].([]any)
	if st[0].(map[string]any)["text"] != "Hello Ann!" || st[0].(map[string]any)["size"] != 0.2 ||
		st[1].(map[string]any)["url"] != "https://example.com/logo.png" || sp["output"].(map[string]any)["format"] != "webm" ||
		sp["output"].(map[string]any)["audio"] != true || v.Metadata["order"] != "7" || strings.Contains(string(j.Spec), "{{") {
		t.Fatalf("spec %s", j.Spec)
	}
}
