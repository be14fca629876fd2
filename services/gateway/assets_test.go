package gateway

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/services/assets/assetstest"
)

// multipartBody builds a form with the given file field and an extra one.
func multipartBody(t *testing.T, field, contentType string, data []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("note", "ignored")
	if field != "" {
		hdr := map[string][]string{"Content-Disposition": {`form-data; name="` + field + `"; filename="upload"`},
			"Content-Type": {contentType}}
		part, err := w.CreatePart(hdr)
		if err != nil {
			t.Fatal(err)
		}
		part.Write(data)
	}
	w.Close()
	return &b, w.FormDataContentType()
}

func TestAssets_Upload(t *testing.T) {
	h := newHarness(t)
	png := assetstest.PNG(t, 40, 30)
	tests := []struct {
		name      string
		body      func() (io.Reader, string)
		kind      string
		w, hgt    int
		hasLength bool
	}{
		{"multipart png", func() (io.Reader, string) { return multipartBody(t, "file", "image/png", png) }, "image", 40, 30, false},
		{"raw mp4", func() (io.Reader, string) { return bytes.NewReader(assetstest.MP4(t)), "video/mp4" }, "video", 64, 48, true},
		{"raw font", func() (io.Reader, string) { return bytes.NewReader(assetstest.Font()), "font/ttf" }, "font", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := tt.body()
			resp := h.do("POST", "/v1/assets", body, "Content-Type", ct)
			var a map[string]any
			decode(t, resp, http.StatusCreated, &a)
			for _, k := range []string{"id", "kind", "bytes", "width", "height", "duration"} {
				if _, ok := a[k]; !ok {
					t.Fatalf("asset has no %q: %v", k, a)
				}
			}
			id, _ := a["id"].(string)
			if !strings.HasPrefix(id, "ast_") || a["kind"] != tt.kind || int(a["width"].(float64)) != tt.w ||
				int(a["height"].(float64)) != tt.hgt || (a["duration"].(float64) > 0) != tt.hasLength {
				t.Fatalf("asset %v", a)
			}
			if resp.Header.Get("Location") != "/v1/assets/"+id {
				t.Fatalf("Location %q", resp.Header.Get("Location"))
			}
			decode(t, h.do("GET", "/v1/assets/"+id, nil), 200, nil)
		})
	}
}

func TestAssets_UploadProblems(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.MaxUploadBytes = 4096 }))
	big := bytes.Repeat([]byte{0x89}, 5000)
	tests := []struct {
		name   string
		body   func() (io.Reader, string)
		status int
		code   errcode.Code
	}{
		{"over the limit, raw", func() (io.Reader, string) { return bytes.NewReader(big), "image/png" }, 413, errcode.AssetTooLarge},
		{"over the limit, chunked", func() (io.Reader, string) { return io.MultiReader(bytes.NewReader(big)), "image/png" }, 413, errcode.AssetTooLarge},
		{"over the limit, multipart", func() (io.Reader, string) { return multipartBody(t, "file", "image/png", big) }, 413, errcode.AssetTooLarge},
		{"not a medium", func() (io.Reader, string) { return strings.NewReader("hello, world"), "text/plain" }, 422, errcode.AssetUnsupported},
		{"empty", func() (io.Reader, string) { return strings.NewReader(""), "image/png" }, 422, errcode.AssetUnsupported},
		{"multipart without file", func() (io.Reader, string) { return multipartBody(t, "", "", nil) }, 400, errcode.SpecInvalid},
		{"multipart without boundary", func() (io.Reader, string) { return strings.NewReader("x"), "multipart/form-data" }, 400, errcode.SpecInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := tt.body()
			checkProblem(t, h.do("POST", "/v1/assets", body, "Content-Type", ct), tt.status, tt.code)
		})
	}
}

func TestAssets_OtherTenantIsNotFound(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) {
		c.APIKeys = map[string]string{"sk_a": "acme", "sk_g": "globex"}
	}))
	a := h.upload(assetstest.PNG(t, 16, 16), "Authorization", "Bearer sk_a", "Content-Type", "image/png")
	decode(t, h.do("GET", "/v1/assets/"+a.ID, nil, "Authorization", "Bearer sk_a"), 200, nil)
	checkProblem(t, h.do("GET", "/v1/assets/"+a.ID, nil, "Authorization", "Bearer sk_g"), 404, errcode.AssetNotFound)
	checkProblem(t, h.do("GET", "/v1/assets/ast_nope", nil, "Authorization", "Bearer sk_a"), 404, errcode.AssetNotFound)
}

// The same bytes uploaded twice by one tenant are one asset (200 the
// second time); another tenant's identical upload is its own asset (201).
func TestAssets_UploadDeduplicatesPerTenant(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) {
		c.APIKeys = map[string]string{"sk_a": "acme", "sk_g": "globex"}
	}))
	png := assetstest.PNG(t, 20, 20)
	first := h.upload(png, "Authorization", "Bearer sk_a", "Content-Type", "image/png")
	tests := []struct {
		name   string
		key    string
		body   func() (io.Reader, string)
		status int
		sameID bool
	}{
		{"same tenant, raw", "sk_a", func() (io.Reader, string) { return bytes.NewReader(png), "image/png" }, http.StatusOK, true},
		{"same tenant, multipart", "sk_a", func() (io.Reader, string) { return multipartBody(t, "file", "image/png", png) }, http.StatusOK, true},
		{"other tenant", "sk_g", func() (io.Reader, string) { return bytes.NewReader(png), "image/png" }, http.StatusCreated, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := tt.body()
			resp := h.do("POST", "/v1/assets", body, "Authorization", "Bearer "+tt.key, "Content-Type", ct)
			var a publicAsset
			decode(t, resp, tt.status, &a)
			if (a.ID == first.ID) != tt.sameID {
				t.Fatalf("id %s, first %s: same %v, want %v", a.ID, first.ID, a.ID == first.ID, tt.sameID)
			}
			if resp.Header.Get("Location") != "/v1/assets/"+a.ID {
				t.Fatalf("Location %q", resp.Header.Get("Location"))
			}
		})
	}
	for tenant, want := range map[string]int{"acme": 1, "globex": 1} {
		ents, err := os.ReadDir(filepath.Join(h.blobs.Root, "assets", tenant))
		if err != nil || len(ents) != want {
			t.Fatalf("%s holds %d objects (%v), want %d", tenant, len(ents), err, want)
		}
	}
}
