package live

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"

	sdkjs "github.com/stickerd/stickerd/sdk/js"
)

func get(t *testing.T, h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler_ServesPageAndAssets(t *testing.T) {
	h := Handler()
	const html = "text/html; charset=utf-8"
	tests := []struct{ path, contentType string }{
		{"/live", html},
		{"/live/", html},
		{"/live/index.html", html},
		{"/live/stickerd-rtc.js", "text/javascript; charset=utf-8"},
	}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "static/index.html" {
			return err
		}
		tests = append(tests, struct{ path, contentType string }{
			Path + "/" + strings.TrimPrefix(p, "static/"), contentTypes[path.Ext(p)]})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) < 7 {
		t.Fatalf("only %d files embedded", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, tt.path)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != tt.contentType || rec.Body.Len() == 0 {
				t.Fatalf("%d %q, %d bytes; want 200 %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len(), tt.contentType)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			again := get(t, h, http.MethodGet, tt.path, "If-None-Match", rec.Header().Get("ETag"))
			if again.Code != http.StatusNotModified {
				t.Errorf("revalidation answered %d", again.Code)
			}
		})
	}
}

func TestHandler_PageHeaders(t *testing.T) {
	rec := get(t, Handler(), http.MethodGet, "/live")
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if pp := rec.Header().Get("Permissions-Policy"); !strings.Contains(pp, "camera=(self)") {
		t.Errorf("Permissions-Policy %q", pp)
	}
	body := rec.Body.String()
	for _, want := range []string{`src="/live/live.js"`, `href="/live/live.css"`, `id="remote"`, `id="palette"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

func TestHandler_ServesTheSDKItself(t *testing.T) {
	want, err := fs.ReadFile(sdkjs.FS, sdkjs.FileName)
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, Handler(), http.MethodGet, "/live/stickerd-rtc.js")
	if rec.Body.String() != string(want) {
		t.Fatal("/live/stickerd-rtc.js is not sdk/js/stickerd-rtc.js")
	}
	if !strings.Contains(rec.Body.String(), "export async function connect(") {
		t.Error("the SDK does not export connect")
	}
}

func TestHandler_Refuses(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodGet, "/livex", http.StatusNotFound},
		{http.MethodGet, "/live/missing.js", http.StatusNotFound},
		{http.MethodGet, "/live/../live.go", http.StatusNotFound},
		{http.MethodGet, "/live/static/live.js", http.StatusNotFound},
		{http.MethodGet, "/v1/stickers", http.StatusNotFound},
		{http.MethodPost, "/live", http.StatusMethodNotAllowed},
		{http.MethodHead, "/live/live.js", http.StatusOK},
	}
	for _, tt := range tests {
		if rec := get(t, h, tt.method, tt.path); rec.Code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.code)
		}
	}
}
