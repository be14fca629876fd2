package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
)

// checkProblem checks that resp is an RFC 9457 problem with status and
// code, and returns it.
func checkProblem(t *testing.T, resp *http.Response, status int, code errcode.Code) problem.Body {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("Content-Type %q, want %s: %s", ct, problem.ContentType, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	for _, k := range []string{"type", "title", "status", "detail", "code", "instance", "errors"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("problem has no %q: %s", k, body)
		}
	}
	var p problem.Body
	json.Unmarshal(body, &p)
	if p.Status != status || p.Code != code || p.Title == "" || p.Type != problem.TypePrefix+string(code) || p.Detail == "" ||
		p.Instance != resp.Request.URL.Path {
		t.Fatalf("problem %+v, want status %d code %s", p, status, code)
	}
	return p
}

func TestProblems_Routing(t *testing.T) {
	h := newHarness(t)
	t.Run("unknown route", func(t *testing.T) {
		checkProblem(t, h.do("GET", "/v1/nothing", nil), 404, errcode.NotFound)
	})
	t.Run("wrong method", func(t *testing.T) {
		resp := h.do("PUT", "/v1/renders", nil)
		checkProblem(t, resp, 405, errcode.MethodNotAllowed)
		if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Fatalf("Allow = %q", allow)
		}
	})
}

func TestProblems_NastyInputNeverA5xx(t *testing.T) {
	h := newHarness(t)
	paths := []string{"/v1/renders/job%00x", "/v1/renders/%2F", "/v1/renders/..%2F..%2Fetc", "/v1/assets/ast_%00",
		"/v1/assets/..", "/v1/renders/" + strings.Repeat("j", 5000), "/v1/renders/job_x/output?x=%zz",
		"/v1/renders?limit=99999999999999999999", "/v1/renders?cursor=%00", "/v1/stickers/%00"}
	for _, p := range paths {
		for _, m := range []string{"GET", "DELETE", "POST"} {
			resp := h.do(m, p, strings.NewReader("{}"), "Content-Type", "application/json")
			if resp.StatusCode >= 500 {
				t.Errorf("%s %s = %d", m, p, resp.StatusCode)
			}
		}
	}
	bodies := []string{"", "null", "[]", "1e999", `{"source":null}`, strings.Repeat("[", 10000), `{"stickers":[` + strings.Repeat(`{"type":"text"},`, 100) + `{}]}`}
	for _, b := range bodies {
		if resp := h.submit(b); resp.StatusCode != 400 && resp.StatusCode != 413 {
			t.Errorf("POST %.30q = %d", b, resp.StatusCode)
		}
	}
}

func TestPanic_RecoveredAsProblem(t *testing.T) {
	h := newHarness(t)
	h.gw.Engine().GET("/boom", func(*gin.Context) { panic("a bug") })
	p := checkProblem(t, h.do("GET", "/boom", nil), 500, errcode.Internal)
	if strings.Contains(p.Detail, "a bug") {
		t.Fatalf("the panic value leaked: %q", p.Detail)
	}
	decode(t, h.do("GET", "/healthz", nil), 200, nil)
}

func TestMount_OtherPackagesRoutes(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.APIKeys = map[string]string{"sk_a": "acme"} }))
	h.gw.Engine().POST("/v1/rtc/sessions", h.gw.Authenticate(), func(c *gin.Context) {
		if TenantOf(c) != "acme" {
			t.Errorf("tenant %q", TenantOf(c))
		}
		h.gw.Fail(c, errcode.New(errcode.RTCNegotiationFailed, "bad offer"))
	})
	checkProblem(t, h.do("POST", "/v1/rtc/sessions", nil), 401, errcode.Unauthorized)
	checkProblem(t, h.do("POST", "/v1/rtc/sessions", nil, "Authorization", "Bearer sk_a"), 422, errcode.RTCNegotiationFailed)
}
