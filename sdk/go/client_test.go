package stickerd

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

func TestClient_Uploads(t *testing.T) {
	fake, c, _ := newFake(t, stickerdtest.Config{})
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x08\x08\x06\x00\x00\x00\x00\x00\x00\x00")
	tests := []struct {
		name     string
		upload   func() (*Asset, error)
		kind     string
		filename string
		content  string
	}{
		{"multipart video", func() (*Asset, error) {
			return c.UploadAsset(testCtx(t), "/tmp/clip.mp4", strings.NewReader("not really a video\r\n"))
		}, "video", "clip.mp4", "not really a video\r\n"},
		{"multipart image", func() (*Asset, error) {
			return c.UploadAsset(testCtx(t), "logo.png", bytes.NewReader(png))
		}, "image", "logo.png", string(png)},
		{"multipart of unknown length", func() (*Asset, error) {
			return c.UploadAsset(testCtx(t), "a.webm", io.MultiReader(strings.NewReader("web"), strings.NewReader("m")))
		}, "video", "a.webm", "webm"},
		{"raw font", func() (*Asset, error) {
			return c.UploadAssetRaw(testCtx(t), "font/ttf", strings.NewReader("glyphs"))
		}, "font", "", "glyphs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.upload()
			if err != nil {
				t.Fatal(err)
			}
			up, ok := fake.Asset(string(a.ID))
			if !ok || a.Kind != tt.kind || a.Bytes != int64(len(tt.content)) || string(up.Data) != tt.content || up.Filename != tt.filename {
				t.Fatalf("asset %+v, stored %+v", a, up)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		_, err := c.UploadAsset(testCtx(t), "notes.txt", strings.NewReader("plain words"))
		if !IsCode(err, "ASSET_UNSUPPORTED") || !IsStatus(err, http.StatusUnprocessableEntity) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestLengthOf(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("0123456789")
	f.Seek(4, io.SeekStart)
	pr, pw := io.Pipe()
	defer pw.Close()
	tests := []struct {
		name string
		r    io.Reader
		want int64
	}{
		{"strings reader", strings.NewReader("abc"), 3},
		{"file at an offset", f, 6},
		{"pipe", pr, -1},
		{"multi reader", io.MultiReader(strings.NewReader("a")), -1},
	}
	for _, tt := range tests {
		if got := lengthOf(tt.r); got != tt.want {
			t.Errorf("%s: lengthOf = %d, want %d", tt.name, got, tt.want)
		}
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 4 {
		t.Errorf("lengthOf moved the file to %d", pos)
	}
}

func TestClient_Renders(t *testing.T) {
	fake, c, _ := newFake(t, stickerdtest.Config{APIKey: "k1"})
	ctx := testCtx(t)
	j, cached, err := c.SubmitRender(ctx, json.RawMessage(canvasSpec))
	if err != nil || cached || j.Status != StatusQueued || !strings.HasPrefix(string(j.ID), "job_") {
		t.Fatalf("submit: %+v cached=%v err=%v", j, cached, err)
	}
	if j, err = c.Wait(ctx, j.ID, nil); err != nil || j.Status != StatusSucceeded || j.Output.Format != "webm" {
		t.Fatalf("wait: %+v %v", j, err)
	}
	// The same request again is a cache hit: 200 and the finished job.
	var decoded map[string]any
	json.Unmarshal([]byte(canvasSpec), &decoded)
	again, cached, err := c.SubmitRender(ctx, decoded)
	if err != nil || !cached || again.ID != j.ID || again.Status != StatusSucceeded {
		t.Fatalf("resubmit: %+v cached=%v err=%v", again, cached, err)
	}
	if got, err := c.GetRender(ctx, j.ID); err != nil || !reflect.DeepEqual(got, j) {
		t.Fatalf("get: %+v %v, want %+v", got, err, j)
	}
	if _, err := c.CancelRender(ctx, j.ID); !IsStatus(err, http.StatusConflict) {
		t.Fatalf("cancel of a finished job: %v", err)
	}
	other := strings.Replace(canvasSpec, "heart", "star", 1)
	k, _, err := c.SubmitRender(ctx, other, SubmitOption{IdempotencyKey: "key-1"})
	if err != nil {
		t.Fatal(err)
	}
	if k, err = c.CancelRender(ctx, k.ID); err != nil || k.Status != StatusCanceled || !IsCode(k.Err(), "CANCELED") {
		t.Fatalf("cancel: %+v %v", k, err)
	}
	if _, _, err := c.SubmitRender(ctx, canvasSpec, SubmitOption{IdempotencyKey: "key-1"}); !IsStatus(err, http.StatusConflict) {
		t.Fatalf("key reused with another body: %v", err)
	}
	if subs := fake.Submits(); len(subs) != 3 || subs[2].IdempotencyKey != "key-1" {
		t.Fatalf("submits %+v", subs)
	}
	stickers, err := c.Stickers(ctx)
	if err != nil || len(stickers) < 12 || stickers[0].Name == "" || stickers[0].Width == 0 {
		t.Fatalf("stickers: %d %v", len(stickers), err)
	}
	doc, err := c.OpenAPI(ctx)
	if err != nil || !bytes.Contains(doc, []byte(`"openapi"`)) {
		t.Fatalf("openapi: %s %v", doc, err)
	}
}

func TestClient_List(t *testing.T) {
	_, c, _ := newFake(t, stickerdtest.Config{})
	ctx := testCtx(t)
	var ids []JobID
	for _, name := range []string{"heart", "star", "sun", "cloud", "fire"} {
		j, _, err := c.SubmitRender(ctx, strings.Replace(canvasSpec, "heart", name, 1))
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]JobID{j.ID}, ids...) // newest first
	}
	c.CancelRender(ctx, ids[0])
	tests := []struct {
		name string
		opt  ListOptions
		want []JobID
	}{
		{"all in pages of two", ListOptions{Limit: 2}, ids},
		{"all in one page", ListOptions{}, ids},
		{"by status", ListOptions{Status: StatusQueued, Limit: 3}, ids[1:]},
		{"none match", ListOptions{Status: StatusFailed}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []JobID
			for j, err := range c.AllRenders(ctx, tt.opt) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, j.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	page, err := c.ListRenders(ctx, ListOptions{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	if _, err := c.ListRenders(ctx, ListOptions{Status: "sleeping"}); !IsCode(err, "SPEC_INVALID") {
		t.Fatalf("bad status: %v", err)
	}
}

func TestNew_BaseURL(t *testing.T) {
	tests := []struct {
		base, want string
		ok         bool
	}{
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/stickers", true},
		{"127.0.0.1:8080", "http://127.0.0.1:8080/v1/stickers", true},
		{"https://host/prefix/", "https://host/prefix/v1/stickers", true},
		{"ftp://host", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := New(tt.base).url("/v1/stickers", nil)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("New(%q).url = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
}
