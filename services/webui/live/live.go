package live

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	sdkjs "github.com/stickerd/stickerd/sdk/js"
)

//go:embed static
var static embed.FS

// Path is where the page is served; its files are under Path + "/".
const Path = "/live"

// contentTypes are set explicitly so that the answer does not depend on the
// host's MIME tables: a module script served as text/plain is refused.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// csp keeps the page to its own origin. WebRTC media is not governed by
// CSP; the signaling requests are, and go to the same origin.
const csp = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; " +
	"script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'"

type file struct {
	data        []byte
	contentType string
	etag        string
}

// files returns the page's files by name: static/ and the SDK module.
func files() (map[string]*file, error) {
	out := map[string]*file{}
	add := func(fsys fs.FS, p, name string) error {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("live: no content type for %s", p)
		}
		sum := sha256.Sum256(data)
		out[name] = &file{data: data, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return add(static, p, strings.TrimPrefix(p, "static/"))
	})
	if err != nil {
		return nil, err
	}
	return out, add(sdkjs.FS, sdkjs.FileName, sdkjs.FileName)
}

// Handler serves the page at /live (also /live/ and /live/index.html) and
// its files, the SDK's stickerd-rtc.js among them, under /live/. Every
// other path is 404. The page talks to GET /v1/stickers and
// /v1/rtc/sessions on the same origin; mount it beside them.
func Handler() http.Handler {
	byName, err := files()
	if err != nil {
		panic(err) // the embedded files are fixed at build time; the test walks them
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := ""
		switch p := r.URL.Path; {
		case p == Path || p == Path+"/":
			name = "index.html"
		case strings.HasPrefix(p, Path+"/"):
			name = strings.TrimPrefix(p, Path+"/")
		}
		f := byName[name]
		if f == nil {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("ETag", f.etag)
		// Revalidate every time: cheap with the ETag, and a new binary's page
		// is never mixed with an old one's modules.
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		if name == "index.html" {
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(self), microphone=()")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
	})
}
