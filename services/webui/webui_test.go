package webui

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/render/text"
)

func get(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler_ServesPageAndAssets(t *testing.T) {
	h := Handler()
	tests := []struct {
		path, contentType string
	}{
		{"/", "text/html; charset=utf-8"},
		{"/index.html", "text/html; charset=utf-8"},
	}
	fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() || p == "static/index.html" {
			return err
		}
		ct := contentTypes[p[strings.LastIndex(p, "."):]]
		tests = append(tests, struct{ path, contentType string }{AssetPrefix + strings.TrimPrefix(p, "static/"), ct})
		return nil
	})
	if len(tests) < 9 {
		t.Fatalf("only %d files embedded", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, tt.path)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != tt.contentType || rec.Body.Len() == 0 {
				t.Fatalf("%d %q, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
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

func TestHandler_Refuses(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/ui/", 404},
		{http.MethodGet, "/ui/missing.js", 404},
		{http.MethodGet, "/ui/../webui.go", 404},
		{http.MethodGet, "/v1/stickers", 404},
		{http.MethodGet, "/ui/index.html", 404},
		{http.MethodPost, "/", 405},
		{http.MethodHead, "/ui/app.js", 200},
	}
	for _, tt := range tests {
		if rec := get(t, h, tt.method, tt.path); rec.Code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.code)
		}
	}
	if csp := get(t, h, http.MethodGet, "/").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("page CSP %q", csp)
	}
}

// TestPage_ReferencesExist checks that every file the page and its modules
// name is served: a typo would only show in a browser otherwise.
func TestPage_ReferencesExist(t *testing.T) {
	h := Handler()
	refs := regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"|from '\./([^']+)'`)
	fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() || !(strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".js")) {
			return err
		}
		data, _ := static.ReadFile(p)
		for _, m := range refs.FindAllStringSubmatch(string(data), -1) {
			path := m[1]
			if path == "" {
				path = AssetPrefix + m[2]
			}
			if rec := get(t, h, http.MethodGet, path); rec.Code != http.StatusOK {
				t.Errorf("%s names %s, which answers %d", p, path, rec.Code)
			}
		}
		return nil
	})
}

// TestHandler_ServesEngineFonts checks that the studio gets the very
// bytes the engine draws text with, so that its preview measures alike.
func TestHandler_ServesEngineFonts(t *testing.T) {
	h := Handler()
	for _, name := range []string{text.FontSans, text.FontSerif, text.FontMono} {
		want, _ := text.FontFile(name)
		rec := get(t, h, http.MethodGet, FontPrefix+name+".ttf")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "font/ttf" || !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("%s: %d %q, %d bytes; want the engine's %d", name, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len(), len(want))
		}
	}
	if rec := get(t, h, http.MethodGet, FontPrefix+"comic.ttf"); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown font answers %d", rec.Code)
	}
}
