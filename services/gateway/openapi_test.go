package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/builtin"
)

// notMounted are documented operations that other packages mount on
// Engine: the realtime routes of docs/api.md.
func notMounted(method, path string) bool { return strings.HasPrefix(path, "/v1/rtc/") }

func TestOpenAPI_MatchesRoutes(t *testing.T) {
	h := newHarness(t)
	var doc map[string]any
	decode(t, h.do("GET", "/openapi.json", nil), 200, &doc)
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi %v", doc["openapi"])
	}
	// Every documented operation has a route, and every route is
	// documented (no infrastructure route is left out).
	miss, err := h.gw.OpenAPIMismatches(notMounted)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range miss {
		t.Error(m)
	}
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/rtc/sessions", "/v1/rtc/sessions/{id}"} {
		if paths[p] == nil {
			t.Errorf("the realtime route %s is not documented", p)
		}
	}
	t.Run("a route added without documentation is found", func(t *testing.T) {
		h.gw.Engine().GET("/v1/undocumented/:x", func(c *gin.Context) {})
		miss, _ := h.gw.OpenAPIMismatches(notMounted)
		if len(miss) != 1 || !strings.Contains(miss[0], "GET /v1/undocumented/{x}") {
			t.Fatalf("mismatches %v", miss)
		}
	})
}

func TestOpenAPI_RefsResolve(t *testing.T) {
	h := newHarness(t)
	var doc map[string]any
	json.Unmarshal(h.gw.OpenAPI(), &doc)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
				var at any = doc
				for _, p := range parts {
					m, _ := at.(map[string]any)
					at = m[p]
				}
				if at == nil {
					t.Errorf("$ref %s resolves to nothing", ref)
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	// Each operation has an id and documents its error answers.
	for path, ops := range doc["paths"].(map[string]any) {
		for method, op := range ops.(map[string]any) {
			o := op.(map[string]any)
			if o["operationId"] == nil || o["responses"] == nil {
				t.Errorf("%s %s lacks operationId or responses", method, path)
			}
		}
	}
}

func TestStickers_Catalogue(t *testing.T) {
	h := newHarness(t)
	var list struct {
		Items []struct {
			Name       string `json:"name"`
			Format     string `json:"format"`
			PreviewURL string `json:"preview_url"`
		} `json:"items"`
	}
	decode(t, h.do("GET", "/v1/stickers", nil), 200, &list)
	if len(list.Items) != len(builtin.List()) || len(list.Items) == 0 {
		t.Fatalf("%d stickers, the catalogue has %d", len(list.Items), len(builtin.List()))
	}
	for _, s := range list.Items[:3] {
		resp := h.do("GET", s.PreviewURL, nil)
		body := readAll(t, resp.Body)
		var want bytes.Buffer
		builtin.Encode(s.Name, &want)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/"+s.Format || body != want.String() {
			t.Fatalf("GET %s: %d %s, %d bytes", s.PreviewURL, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	checkProblem(t, h.do("GET", "/v1/stickers/no-such-sticker", nil), 404, errcode.NotFound)
}

func TestHealth_ProbesAndMetrics(t *testing.T) {
	h := newHarness(t)
	decode(t, h.do("GET", "/healthz", nil), 200, nil)
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	decode(t, h.do("GET", "/readyz", nil), 200, &ready)
	if !ready.Ready || ready.Checks["state_store"] != "ok" {
		t.Fatalf("readyz %+v", ready)
	}
	h.do("GET", "/v1/renders/job_x", nil)
	h.submit("{")
	h.gw.met.failOpen.WithLabelValues("cache").Inc()
	body := readAll(t, h.do("GET", "/metrics", nil).Body)
	for _, want := range []string{`stickerd_http_requests_total{code="404",method="GET",route="/v1/renders/:id"}`,
		`stickerd_local_errors_total{code="SPEC_INVALID",service="gateway"}`, `stickerd_gateway_fail_open_total{dependency="cache"} 1`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
