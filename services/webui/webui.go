package webui

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

	"github.com/stickerd/stickerd/render/text"
)

//go:embed static
var static embed.FS

// AssetPrefix is the path under which the page's files are served.
const AssetPrefix = "/ui/"

// contentTypes are set explicitly so that the answer does not depend on the
// host's MIME tables: a module script served as text/plain is refused.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".ttf":  "font/ttf",
}

// FontPrefix is where the engine's built-in fonts are served, by the names
// a text sticker's "font" takes ("sans.ttf"): the studio draws its preview
// with the very bytes the renderer draws with, so the two measure alike.
const FontPrefix = AssetPrefix + "fonts/"

// csp keeps the page to its own origin: its scripts and styles, the API,
// and blob: URLs for local previews of the files a person picks.
const csp = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; " +
	"script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'"

type file struct {
	data        []byte
	contentType string
	etag        string
}

func newFile(data []byte, contentType string) *file {
	sum := sha256.Sum256(data)
	return &file{data: data, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// Handler serves the page at "/" (and "/index.html") and its files under
// /ui/, the engine's fonts under /ui/fonts/. Every other path is 404, so it
// can be mounted as a fallback.
func Handler() http.Handler {
	files := map[string]*file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("webui: no content type for %s", p)
		}
		files[strings.TrimPrefix(p, "static/")] = newFile(data, ct)
		return nil
	})
	if err != nil {
		panic(err) // the embedded files are fixed at build time; the test walks them
	}
	for _, name := range []string{text.FontSans, text.FontSerif, text.FontMono} {
		data, ok := text.FontFile(name)
		if !ok {
			panic("webui: no built-in font " + name)
		}
		files[strings.TrimPrefix(FontPrefix, AssetPrefix)+name+".ttf"] = newFile(data, contentTypes[".ttf"])
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := "", false
		switch p := r.URL.Path; {
		case p == "/" || p == "/index.html":
			name, ok = "index.html", true
		case strings.HasPrefix(p, AssetPrefix) && p != AssetPrefix+"index.html":
			name, ok = strings.TrimPrefix(p, AssetPrefix), true
		}
		f := files[name]
		if !ok || f == nil {
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
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
	})
}
