package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/services/assets/assetstest"
)

// publicFields are the job fields of docs/api.md, and all of them.
var publicFields = []string{"attempts", "created_at", "error", "finished_at", "id", "metadata", "output",
	"priority", "progress", "started_at", "status", "timings", "worker"}

func checkJobShape(t *testing.T, raw map[string]any) {
	t.Helper()
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, publicFields) {
		t.Fatalf("job fields %v, want exactly %v", keys, publicFields)
	}
	// Every job has its timeline, from the moment it is queued.
	if tm, _ := raw["timings"].(map[string]any); tm["queued"] != raw["created_at"] {
		t.Fatalf("timings %v: want queued at created_at %v", raw["timings"], raw["created_at"])
	}
	if out, ok := raw["output"].(map[string]any); ok {
		var ok []string
		for k := range out {
			ok = append(ok, k)
		}
		slices.Sort(ok)
		// A stored output's job (GET, list, events) has a signed link.
		if !slices.Equal(ok, []string{"bytes", "duration", "format", "height", "signed_url", "url", "width"}) {
			t.Fatalf("output fields %v", ok)
		}
	}
}

func TestRenders_SubmitGetList(t *testing.T) {
	h := newHarness(t)
	resp := h.submit(canvasSpec("hello"))
	var raw map[string]any
	decode(t, resp, http.StatusAccepted, &raw)
	checkJobShape(t, raw)
	id := raw["id"].(string)
	if raw["status"] != "queued" || raw["priority"] != "normal" || raw["metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("job %v", raw)
	}
	if resp.Header.Get("Location") != "/v1/renders/"+id {
		t.Fatalf("Location %q", resp.Header.Get("Location"))
	}
	decode(t, h.do("GET", "/v1/renders/"+id, nil), 200, &raw)
	checkJobShape(t, raw)
	h.succeed(id, "mp4", []byte("file"))
	decode(t, h.do("GET", "/v1/renders/"+id, nil), 200, &raw)
	checkJobShape(t, raw)
	if raw["output"].(map[string]any)["url"] != "/v1/renders/"+id+"/output" {
		t.Fatalf("output %v", raw["output"])
	}

	// Paging: five jobs in all, newest first, two a page.
	var ids []string
	for i := range 4 {
		var v publicJob
		decode(t, h.submit(canvasSpec(strings.Repeat("x", i+1))), 202, &v)
		ids = append([]string{string(v.ID)}, ids...)
	}
	ids = append(ids, id)
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		var list struct {
			Items      []publicJob `json:"items"`
			NextCursor *string     `json:"next_cursor"`
		}
		decode(t, h.do("GET", "/v1/renders?limit=2&cursor="+cursor, nil), 200, &list)
		for _, j := range list.Items {
			got = append(got, string(j.ID))
		}
		if list.NextCursor == nil {
			break
		}
		cursor = *list.NextCursor
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("listed %v, want %v", got, ids)
	}
	var done struct{ Items []publicJob }
	decode(t, h.do("GET", "/v1/renders?status=succeeded", nil), 200, &done)
	if len(done.Items) != 1 || string(done.Items[0].ID) != id {
		t.Fatalf("succeeded jobs %+v", done.Items)
	}
	var body map[string]json.RawMessage
	decode(t, h.do("GET", "/v1/renders?status=failed", nil), 200, &body)
	if string(body["next_cursor"]) != "null" || string(body["items"]) != "[]" {
		t.Fatalf("empty page %s %s", body["items"], body["next_cursor"])
	}
}

func TestRenders_Problems(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.MaxSpecBytes = 4096 }))
	video := h.upload(assetstest.MP4(t), "Content-Type", "video/mp4")
	png := h.upload(assetstest.PNG(t, 8, 8), "Content-Type", "image/png")
	src := func(source string) string {
		return `{"source":` + source + `,"stickers":[{"type":"text","text":"x"}]}`
	}
	tests := []struct {
		name, body, ct string
		header         []string
		status         int
		code           errcode.Code
		field, detail  string
	}{
		{"not JSON content", canvasSpec("x"), "text/plain", nil, 415, errcode.SpecInvalid, "", ""},
		{"no content type", canvasSpec("x"), "", nil, 415, errcode.SpecInvalid, "", ""},
		{"body over the limit", canvasSpec(strings.Repeat("x", 5000)), "application/json", nil, 413, errcode.SpecInvalid, "", ""},
		{"malformed JSON", `{"source": {"color": }`, "application/json", nil, 400, errcode.SpecInvalid, "", "byte"},
		{"unknown field", `{"source":{"color":"#000000","width":64,"height":64,"duration":1},"stickers":[{"type":"text","text":"x","colour":"#fff"}]}`,
			"application/json", nil, 400, errcode.SpecInvalid, "stickers[0].colour", ""},
		{"loopback URL", src(`{"url":"http://127.0.0.1:8080/a.mp4"}`), "application/json", nil, 400, errcode.SpecInvalid, "source.url", ""},
		{"localhost URL", src(`{"url":"http://localhost/a.mp4"}`), "application/json", nil, 400, errcode.SpecInvalid, "source.url", ""},
		{"metadata URL", `{"source":{"asset_id":"` + video.ID + `"},"stickers":[{"type":"image","url":"http://169.254.169.254/x.png"}]}`,
			"application/json", nil, 400, errcode.SpecInvalid, "stickers[0].url", ""},
		{"private IPv6 URL", src(`{"url":"http://[fd00::1]/a.mp4"}`), "application/json", nil, 400, errcode.SpecInvalid, "source.url", ""},
		{"missing asset", src(`{"asset_id":"ast_missing"}`), "application/json", nil, 422, errcode.AssetNotFound, "source.asset_id", ""},
		{"image as source", src(`{"asset_id":"` + png.ID + `"}`), "application/json", nil, 422, errcode.SourceUnreadable, "source.asset_id", ""},
		{"video as sticker", `{"source":{"asset_id":"` + video.ID + `"},"stickers":[{"type":"image","asset_id":"` + video.ID + `"}]}`,
			"application/json", nil, 422, errcode.AssetUnsupported, "stickers[0].asset_id", ""},
		{"image as font", `{"source":{"asset_id":"` + video.ID + `"},"stickers":[{"type":"text","text":"x","font":"` + png.ID + `"}]}`,
			"application/json", nil, 422, errcode.AssetUnsupported, "stickers[0].font", ""},
		{"bad idempotency key", canvasSpec("x"), "application/json", []string{"Idempotency-Key", strings.Repeat("k", 300)}, 400, errcode.SpecInvalid, "Idempotency-Key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := append([]string{"Content-Type", tt.ct}, tt.header...)
			p := checkProblem(t, h.do("POST", "/v1/renders", strings.NewReader(tt.body), hdr...), tt.status, tt.code)
			if tt.field != "" && !slices.ContainsFunc(p.Errors, func(f errcode.FieldError) bool { return f.Field == tt.field }) {
				t.Fatalf("errors %+v do not name %s", p.Errors, tt.field)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Fatalf("detail %q does not mention %q", p.Detail, tt.detail)
			}
		})
	}
	queries := []struct{ query, field string }{{"status=done", "status"}, {"limit=0", "limit"}, {"limit=101", "limit"},
		{"limit=x", "limit"}, {"cursor=bm9wZQ", "cursor"}}
	for _, q := range queries {
		t.Run("list "+q.query, func(t *testing.T) {
			p := checkProblem(t, h.do("GET", "/v1/renders?"+q.query, nil), 400, errcode.SpecInvalid)
			if len(p.Errors) != 1 || p.Errors[0].Field != q.field {
				t.Fatalf("errors %+v, want %s", p.Errors, q.field)
			}
		})
	}
}

func TestRenders_AllowPrivateURLs(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.AllowPrivateURLs = true }))
	decode(t, h.submit(`{"source":{"url":"http://127.0.0.1/a.mp4"},"stickers":[{"type":"text","text":"x"}]}`), 202, nil)
}

func TestRenders_TenantIsolation(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) {
		c.APIKeys = map[string]string{"sk_a": "acme", "sk_g": "globex"}
	}))
	acme, globex := []string{"Authorization", "Bearer sk_a"}, []string{"Authorization", "Bearer sk_g"}
	var v publicJob
	decode(t, h.submit(canvasSpec("mine"), acme...), 202, &v)
	id := string(v.ID)
	done := h.submit(canvasSpec("done"), acme...)
	var d publicJob
	decode(t, done, 202, &d)
	h.succeed(string(d.ID), "mp4", []byte("data"))
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/renders/" + id}, {"DELETE", "/v1/renders/" + id}, {"GET", "/v1/renders/" + id + "/events"},
		{"GET", "/v1/renders/" + string(d.ID) + "/output"}, {"GET", "/v1/renders/job_doesnotexist"},
	} {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			checkProblem(t, h.do(r.method, r.path, nil, globex...), 404, errcode.NotFound)
		})
	}
	var list struct{ Items []publicJob }
	decode(t, h.do("GET", "/v1/renders", nil, globex...), 200, &list)
	if len(list.Items) != 0 {
		t.Fatalf("globex lists %+v", list.Items)
	}
	if j, _ := h.store.Get(h.ctx(), jobs.ID(id)); j.Status != jobs.Queued {
		t.Fatalf("globex's DELETE changed acme's job: %s", j.Status)
	}
}

func TestRenders_Cancel(t *testing.T) {
	h := newHarness(t)
	var queued, running publicJob
	decode(t, h.submit(canvasSpec("queued")), 202, &queued)
	decode(t, h.submit(canvasSpec("running")), 202, &running)
	h.update(string(running.ID), func(j *jobs.Job) { j.Status = jobs.Running })

	var v publicJob
	decode(t, h.do("DELETE", "/v1/renders/"+string(queued.ID), nil), 202, &v)
	if v.Status != jobs.Canceled {
		t.Fatalf("canceled queued job is %s", v.Status)
	}
	checkProblem(t, h.do("DELETE", "/v1/renders/"+string(queued.ID), nil), 409, errcode.Conflict)
	decode(t, h.do("DELETE", "/v1/renders/"+string(running.ID), nil), 202, &v)
	if v.Status != jobs.Running {
		t.Fatalf("a running job answers %s; the scheduler stops it", v.Status)
	}
	if j, _ := h.store.Get(h.ctx(), running.ID); !j.CancelRequested {
		t.Fatal("the running job's cancel was not requested")
	}
	checkProblem(t, h.do("DELETE", "/v1/renders/job_missing", nil), 404, errcode.NotFound)
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
