package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
)

// checkProblem checks that resp is an RFC 9457 problem with status and
// code, and returns it.
func checkProblem(t *testing.T, resp *http.Response, status int, code errcode.Code) Problem {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != ProblemContentType {
		t.Fatalf("Content-Type %q, want %s: %s", ct, ProblemContentType, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	for _, k := range []string{"type", "title", "status", "detail", "code", "errors"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("problem has no %q: %s", k, body)
		}
	}
	var p Problem
	json.Unmarshal(body, &p)
	if p.Status != status || p.Code != code || p.Title == "" || !strings.HasSuffix(p.Type, string(code)) || p.Detail == "" {
		t.Fatalf("problem %+v, want status %d code %s", p, status, code)
	}
	return p
}

func TestStatusOf_EveryCode(t *testing.T) {
	want := map[errcode.Code]int{
		errcode.SpecInvalid: 400, errcode.Unauthorized: 401, errcode.AssetNotFound: 404, errcode.AssetTooLarge: 413,
		errcode.AssetUnsupported: 422, errcode.RateLimited: 429, errcode.QueueUnavailable: 503,
		errcode.StateStoreUnavailable: 503, errcode.Internal: 500, CodeNotFound: 404, CodeConflict: 409,
		CodeMethodNotAllowed: 405,
	}
	for code, status := range want {
		if got := StatusOf(code); got != status {
			t.Errorf("StatusOf(%s) = %d, want %d", code, got, status)
		}
	}
	for _, code := range errcode.All() {
		if s := StatusOf(code); s < 400 || (s == 500) != (code == errcode.Internal) {
			t.Errorf("StatusOf(%s) = %d; only INTERNAL is 500", code, s)
		}
	}
}

func TestProblems_Routing(t *testing.T) {
	h := newHarness(t)
	t.Run("unknown route", func(t *testing.T) {
		checkProblem(t, h.do("GET", "/v1/nothing", nil), 404, CodeNotFound)
	})
	t.Run("wrong method", func(t *testing.T) {
		resp := h.do("PUT", "/v1/renders", nil)
		checkProblem(t, resp, 405, CodeMethodNotAllowed)
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
