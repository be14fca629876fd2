package gateway

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/services/assets/assetstest"
)

// send makes a request with Host set to host ("" keeps the server's) and
// header pairs.
func (h *harness) send(method, path, host string, body []byte, header ...string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// multipartPNG is a browser-style multipart upload of a small PNG.
func multipartPNG(t *testing.T) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", "x.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(assetstest.PNG(t, 8, 8))
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

// A keyless loopback gateway answers only requests addressed to a
// loopback name (DNS rebinding), and only same-origin state changes
// (CSRF).
func TestLocalGuard_KeylessLoopback(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.AllowedHosts = []string{"Stickerd.Test"} }))
	self := strings.TrimPrefix(h.srv.URL, "http://")
	_, port, _ := strings.Cut(self, ":")
	body, ct := multipartPNG(t)
	tests := []struct {
		name, method, path, host string
		header                   []string
		status                   int
		reason                   string // in the problem's detail
	}{
		{"rebound name", "GET", "/v1/renders", "attacker.example", nil, 403, "Host"},
		{"rebound name with port", "GET", "/v1/renders", "attacker.example:" + port, nil, 403, "Host"},
		{"rebound name, web UI route", "GET", "/healthz", "attacker.example", nil, 403, "Host"},
		{"rebound name, upload", "POST", "/v1/assets", "attacker.example:" + port, []string{"Content-Type", ct}, 403, "Host"},
		{"suffix trick", "GET", "/v1/renders", "localhost.attacker.example", nil, 403, "Host"},
		{"public address", "GET", "/v1/renders", "93.184.216.34:" + port, nil, 403, "Host"},
		{"numeric loopback form", "GET", "/v1/renders", "2130706433:" + port, nil, 403, "Host"},
		{"cross-site upload", "POST", "/v1/assets", "", []string{"Content-Type", ct, "Origin", "https://attacker.example"}, 403, "Origin"},
		{"cross-site render", "POST", "/v1/renders", "", []string{"Content-Type", "text/plain", "Origin", "https://attacker.example"}, 403, "Origin"},
		{"cross-site cancel", "DELETE", "/v1/renders/job_x", "", []string{"Origin", "http://localhost:3000"}, 403, "Origin"},
		{"opaque origin", "POST", "/v1/assets", "", []string{"Content-Type", ct, "Origin", "null"}, 403, "Origin"},
		{"another loopback port", "POST", "/v1/assets", "", []string{"Content-Type", ct, "Origin", "http://127.0.0.1:1"}, 403, "Origin"},
		{"cross-site fetch metadata", "POST", "/v1/assets", "", []string{"Content-Type", ct, "Sec-Fetch-Site", "cross-site"}, 403, "Sec-Fetch-Site"},
		{"same-site fetch metadata", "POST", "/v1/assets", "", []string{"Content-Type", ct, "Sec-Fetch-Site", "same-site"}, 403, "Sec-Fetch-Site"},

		{"same-origin upload", "POST", "/v1/assets", "", []string{"Content-Type", ct, "Origin", h.srv.URL, "Sec-Fetch-Site", "same-origin"}, 201, ""},
		// The same bytes again: the tenant's existing asset, 200.
		{"upload without Origin (curl)", "POST", "/v1/assets", "", []string{"Content-Type", ct}, 200, ""},
		{"typed-in navigation", "POST", "/v1/assets", "", []string{"Content-Type", ct, "Sec-Fetch-Site", "none"}, 200, ""},
		{"localhost", "GET", "/v1/renders", "localhost:" + port, nil, 200, ""},
		{"LOCALHOST without port", "GET", "/v1/renders", "LOCALHOST", nil, 200, ""},
		{"another 127/8 address", "GET", "/v1/renders", "127.0.0.2:" + port, nil, 200, ""},
		{"IPv6 loopback", "GET", "/v1/renders", "[::1]:" + port, nil, 200, ""},
		{"allowed host", "GET", "/v1/renders", "stickerd.test:" + port, nil, 200, ""},
		{"allowed host, same-origin upload", "POST", "/v1/assets", "stickerd.test:" + port,
			[]string{"Content-Type", ct, "Origin", "http://stickerd.test:" + port}, 200, ""},
		{"cross-site read (CORS keeps the answer from the page)", "GET", "/v1/renders", "", []string{"Origin", "https://attacker.example"}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.send(tt.method, tt.path, tt.host, body, tt.header...)
			if tt.status != 403 {
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
				}
				return
			}
			p := checkProblem(t, resp, 403, errcode.Unauthorized)
			if !strings.Contains(p.Detail, tt.reason) {
				t.Fatalf("detail %q does not name %s", p.Detail, tt.reason)
			}
		})
	}
}

// With API keys, a browser cannot send the key on its own: neither
// rebinding nor CSRF reaches the API, and any Host is answered (the
// gateway may sit behind a proxy under any name).
func TestLocalGuard_OffWithAPIKeys(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.APIKeys = map[string]string{"sk_a": "acme"} }))
	resp := h.send("GET", "/v1/renders", "stickerd.example.com", nil, "Authorization", "Bearer sk_a")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
}

func TestLocalGuard_Handler(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := LocalOnly(ok, nil)
	tests := []struct {
		name, method, host, origin string
		status                     int
	}{
		{"loopback", "POST", "127.0.0.1:8090", "", 204},
		{"same origin", "POST", "127.0.0.1:8090", "http://127.0.0.1:8090", 204},
		{"rebound", "POST", "evil.example:8090", "", 403},
		{"cross-site", "POST", "127.0.0.1:8090", "https://evil.example", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://"+tt.host+"/v1/rtc/sessions", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status == 403 && (rec.Header().Get("Content-Type") != problem.ContentType || !strings.Contains(rec.Body.String(), `"UNAUTHORIZED"`)) {
				t.Fatalf("answer %s %s, want a problem with code UNAUTHORIZED", rec.Header().Get("Content-Type"), rec.Body.String())
			}
		})
	}
}
