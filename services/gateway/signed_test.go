package gateway

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errcode"
)

var testSigningKey = []byte("0123456789abcdef0123456789abcdef")

// signedHarness is a keyed gateway (tenants acme and globex) with a
// signing key and a fake clock.
func signedHarness(t *testing.T, opts ...option) (*harness, *clock.Fake) {
	clk := clock.NewFake(time.Now())
	h := newHarness(t, append([]option{withConfig(keyed), withConfig(func(c *Config) { c.URLSigningKey = testSigningKey }),
		withDeps(func(d *Deps) { d.Clock = clk })}, opts...)...)
	return h, clk
}

// succeeded submits a job for the tenant of auth and makes it succeed
// with data; it answers the job as GET /v1/renders/{id} shows it.
func (h *harness) succeeded(auth []string, data []byte) publicJob {
	h.t.Helper()
	var v publicJob
	decode(h.t, h.submit(canvasSpec("signed"+strconv.Itoa(len(data))), auth...), 202, &v)
	h.succeed(string(v.ID), "webm", data)
	decode(h.t, h.do("GET", "/v1/renders/"+string(v.ID), nil, auth...), 200, &v)
	return v
}

// withQuery replaces (or, with an empty value, removes) query parameters
// of a link.
func withQuery(t *testing.T, link string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func mustQuery(t *testing.T, link, name string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get(name) == "" {
		t.Fatalf("%s has no %s", link, name)
	}
	return u.Query().Get(name)
}

// A signed link downloads without an API key, whole, by range, by HEAD
// and with If-Range, as the keyed route does.
func TestSigned_DownloadsWithoutAKey(t *testing.T) {
	h, _ := signedHarness(t)
	acme := []string{"Authorization", "Bearer sk_acme"}
	data := []byte("0123456789abcdefghij")
	v := h.succeeded(acme, data)
	link := v.Output.SignedURL
	if !strings.HasPrefix(link, "/v1/renders/"+string(v.ID)+"/output?") || v.Output.URL != "/v1/renders/"+string(v.ID)+"/output" {
		t.Fatalf("output %+v", v.Output)
	}
	checkProblem(t, h.do("GET", v.Output.URL, nil), http.StatusUnauthorized, errcode.Unauthorized)
	tests := []struct {
		name, method string
		header       []string
		status       int
		body, rng    string
	}{
		{"whole file", "GET", nil, 200, string(data), ""},
		{"a range", "GET", []string{"Range", "bytes=2-5"}, 206, "2345", "bytes 2-5/20"},
		{"if-range matches", "GET", []string{"Range", "bytes=0-0", "If-Range", `"` + string(v.ID) + `"`}, 206, "0", "bytes 0-0/20"},
		{"head", "HEAD", nil, 200, "", ""},
		{"a wrong API key does not matter", "GET", []string{"Authorization", "Bearer sk_nope"}, 200, string(data), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.do(tt.method, link, nil, tt.header...)
			body := readAll(t, resp.Body)
			if resp.StatusCode != tt.status || body != tt.body || resp.Header.Get("Content-Range") != tt.rng {
				t.Fatalf("%d %q %q, want %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Range"), tt.status, tt.body, tt.rng)
			}
			if resp.Header.Get("Content-Type") != "video/webm" || resp.Header.Get("Accept-Ranges") != "bytes" {
				t.Fatalf("headers %v", resp.Header)
			}
		})
	}
	t.Run("the list and the event stream carry it too", func(t *testing.T) {
		var list struct{ Items []publicJob }
		decode(t, h.do("GET", "/v1/renders", nil, acme...), 200, &list)
		if len(list.Items) != 1 || list.Items[0].Output == nil || list.Items[0].Output.SignedURL == "" {
			t.Fatalf("list %+v", list.Items)
		}
		body := readAll(t, h.do("GET", "/v1/renders/"+string(v.ID)+"/events", nil, acme...).Body)
		if !strings.Contains(body, `"signed_url":"/v1/renders/`+string(v.ID)+`/output?expires=`) {
			t.Fatalf("events %s", body)
		}
	})
}

// Whatever is wrong with a link, the answer is 403 SIGNATURE_INVALID:
// tampered, for another job (another tenant's too), expired, made with
// another key, or for no job at all.
func TestSigned_RefusesWhatDoesNotCheckOut(t *testing.T) {
	h, clk := signedHarness(t)
	acme, globex := []string{"Authorization", "Bearer sk_acme"}, []string{"Authorization", "Bearer sk_globex"}
	mine := h.succeeded(acme, []byte("acme's output"))
	theirs := h.succeeded(globex, []byte("globex's output, longer"))
	link := mine.Output.SignedURL
	u, _ := url.Parse(link)
	sig := u.Query().Get("sig")
	exp, _ := strconv.ParseInt(u.Query().Get("expires"), 10, 64)
	if want := clk.Now().Add(24 * time.Hour).Unix(); exp != want {
		t.Fatalf("expires %d, want now+24h %d", exp, want)
	}
	flipped := []byte(sig)
	flipped[3] ^= 1 // still base64url
	if flipped[3] == '-' || flipped[3] == '_' {
		flipped[3] = 'A'
	}
	tests := []struct{ name, link string }{
		{"tampered signature", withQuery(t, link, "sig", string(flipped))},
		{"signature not base64", withQuery(t, link, "sig", "!!!")},
		{"no signature", withQuery(t, link, "sig", "")},
		{"no expiry", withQuery(t, link, "expires", "")},
		{"expiry pushed later", withQuery(t, link, "expires", strconv.FormatInt(exp+3600, 10))},
		{"expiry not a number", withQuery(t, link, "expires", "tomorrow")},
		{"another job id (another tenant's)", strings.Replace(link, string(mine.ID), string(theirs.ID), 1)},
		{"my job, another tenant's signature", withQuery(t, link, "sig", mustQuery(t, theirs.Output.SignedURL, "sig"))},
		{"another tenant's link, its expiry changed", withQuery(t, theirs.Output.SignedURL, "expires", strconv.FormatInt(exp-60, 10))},
		{"no such job", strings.Replace(link, string(mine.ID), "job_nope", 1)},
		{"a signature twice", link + "&sig=" + sig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				resp := h.do(method, tt.link, nil, acme...)
				if method == "HEAD" {
					if resp.StatusCode != http.StatusForbidden {
						t.Fatalf("HEAD: %d", resp.StatusCode)
					}
					continue
				}
				checkProblem(t, resp, http.StatusForbidden, errcode.SignatureInvalid)
			}
		})
	}
	t.Run("the genuine link still works", func(t *testing.T) {
		if resp := h.do("GET", link, nil); resp.StatusCode != 200 || readAll(t, resp.Body) != "acme's output" {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("expired", func(t *testing.T) {
		clk.Advance(24*time.Hour - time.Second)
		if resp := h.do("GET", link, nil); resp.StatusCode != 200 {
			t.Fatalf("a second before expiry: %d", resp.StatusCode)
		}
		clk.Advance(time.Second)
		p := checkProblem(t, h.do("GET", link, nil), http.StatusForbidden, errcode.SignatureInvalid)
		if !strings.Contains(p.Detail, "expired") {
			t.Fatalf("detail %q", p.Detail)
		}
		// A fresh view signs a fresh link.
		var v publicJob
		decode(t, h.do("GET", "/v1/renders/"+string(mine.ID), nil, acme...), 200, &v)
		if resp := h.do("GET", v.Output.SignedURL, nil); resp.StatusCode != 200 {
			t.Fatalf("fresh link: %d", resp.StatusCode)
		}
	})
}

// A deleted output answers 410 through its signed link, and the view
// then shows output_deleted_at and no links.
func TestSigned_DeletedOutputIsGone(t *testing.T) {
	h, _ := signedHarness(t)
	acme := []string{"Authorization", "Bearer sk_acme"}
	v := h.succeeded(acme, []byte("soon gone"))
	if v.OutputDeletedAt != nil {
		t.Fatalf("output_deleted_at %v on a stored output", v.OutputDeletedAt)
	}
	if resp := h.do("DELETE", v.Output.URL, nil, acme...); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	checkProblem(t, h.do("GET", v.Output.SignedURL, nil), http.StatusGone, errcode.OutputGone)
	if resp := h.do("HEAD", v.Output.SignedURL, nil); resp.StatusCode != http.StatusGone {
		t.Fatalf("HEAD: %d", resp.StatusCode)
	}
	body := readAll(t, h.do("GET", "/v1/renders/"+string(v.ID), nil, acme...).Body)
	var after publicJob
	decode(t, h.do("GET", "/v1/renders/"+string(v.ID), nil, acme...), 200, &after)
	if after.OutputDeletedAt == nil || after.Output == nil || after.Output.URL != "" || after.Output.SignedURL != "" ||
		strings.Contains(body, `"url"`) || !strings.Contains(body, `"output_deleted_at"`) {
		t.Fatalf("after deletion: %s", body)
	}
}

// With PublicURL the link is absolute; a job that has not succeeded has
// none.
func TestSigned_PublicURL(t *testing.T) {
	h, _ := signedHarness(t, withConfig(func(c *Config) { c.PublicURL = "https://cdn.example.com/" }))
	acme := []string{"Authorization", "Bearer sk_acme"}
	var queued publicJob
	decode(t, h.submit(canvasSpec("queued"), acme...), 202, &queued)
	if queued.Output != nil {
		t.Fatalf("a queued job has an output: %+v", queued.Output)
	}
	v := h.succeeded(acme, []byte("abs"))
	prefix := "https://cdn.example.com/v1/renders/" + string(v.ID) + "/output?expires="
	if !strings.HasPrefix(v.Output.SignedURL, prefix) {
		t.Fatalf("signed_url %q, want %s…", v.Output.SignedURL, prefix)
	}
	// The CDN forwards the path and query to a gateway.
	path := strings.TrimPrefix(v.Output.SignedURL, "https://cdn.example.com")
	if resp := h.do("GET", path, nil); resp.StatusCode != 200 || readAll(t, resp.Body) != "abs" {
		t.Fatalf("%d", resp.StatusCode)
	}
}

// Gateways sharing the key honour each other's links; another key (a
// rotation, or a random per-start key) refuses them all.
func TestSigned_KeyRotationInvalidates(t *testing.T) {
	h, clk := signedHarness(t)
	acme := []string{"Authorization", "Bearer sk_acme"}
	v := h.succeeded(acme, []byte("rotating"))
	other := func(key []byte) *httptest.Server {
		cfg := h.cfg
		cfg.URLSigningKey = key
		deps := h.deps
		deps.Clock = clk
		gw, err := New(cfg, deps, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gw.Handler())
		t.Cleanup(srv.Close)
		return srv
	}
	get := func(srv *httptest.Server) int {
		resp, err := http.Get(srv.URL + v.Output.SignedURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(other(bytes.Clone(testSigningKey))); got != 200 {
		t.Fatalf("a gateway with the same key: %d", got)
	}
	if got := get(other([]byte("ffffffffffffffffffffffffffffffff"))); got != http.StatusForbidden {
		t.Fatalf("a gateway with a rotated key: %d", got)
	}
	if got := get(other(nil)); got != http.StatusForbidden {
		t.Fatalf("a gateway with a random key: %d", got)
	}
}

func TestSigned_ConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"no key: random", func(c *Config) {}, true},
		{"a 32-byte key", func(c *Config) { c.URLSigningKey = testSigningKey }, true},
		{"a short key", func(c *Config) { c.URLSigningKey = []byte("short") }, false},
		{"no TTL", func(c *Config) { c.SignedURLTTL = 0 }, false},
		{"public URL", func(c *Config) { c.PublicURL = "https://cdn.example.com/stickers" }, true},
		{"public URL without scheme", func(c *Config) { c.PublicURL = "cdn.example.com" }, false},
		{"public URL with a query", func(c *Config) { c.PublicURL = "https://cdn.example.com/?a=b" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
		})
	}
	if DefaultConfig().SignedURLTTL != 24*time.Hour {
		t.Fatal("the default TTL is not 24h")
	}
}
