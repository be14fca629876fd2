package stickerdtest

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The same bytes uploaded again, raw or as multipart, are the same asset,
// answered 200 with its id, as the gateway deduplicates; other bytes are a
// new asset, 201.
func TestUpload_SameBytesSameAsset(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x08\x08\x06\x00\x00\x00\x00\x00\x00\x00")
	post := func(body []byte, multi bool) (int, string, string) {
		t.Helper()
		ct := "image/png"
		if multi {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			fw, _ := mw.CreateFormFile("file", "logo.png")
			fw.Write(body)
			mw.Close()
			body, ct = buf.Bytes(), mw.FormDataContentType()
		}
		resp, err := http.Post(srv.URL+"/v1/assets", ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a struct {
			ID   string
			Kind string
		}
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
		if a.Kind != "image" {
			t.Fatalf("kind %q", a.Kind)
		}
		return resp.StatusCode, a.ID, resp.Header.Get("Location")
	}
	status, first, loc := post(png, false)
	if status != http.StatusCreated || !strings.HasPrefix(first, "ast_") || loc != "/v1/assets/"+first {
		t.Fatalf("first upload: %d %q Location %q", status, first, loc)
	}
	for _, multi := range []bool{false, true} {
		if status, id, loc := post(png, multi); status != http.StatusOK || id != first || loc != "/v1/assets/"+first {
			t.Errorf("same bytes again (multipart %v): %d %q Location %q, want 200 %q", multi, status, id, loc, first)
		}
	}
	other := append(append([]byte(nil), png...), 0)
	if status, id, _ := post(other, true); status != http.StatusCreated || id == first {
		t.Errorf("other bytes: %d %q, want 201 and a new id", status, id)
	}
}
