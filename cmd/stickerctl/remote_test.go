package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stickerd "github.com/stickerd/stickerd/sdk/go"
	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

// startFake serves the fake API and returns it with its URL.
func startFake(t *testing.T, cfg stickerdtest.Config) (*stickerdtest.Server, string) {
	t.Helper()
	fake := stickerdtest.New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

// ctl runs stickerctl with a bounded context.
func ctl(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFiles creates files under dir.
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func pngBytes(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, 8, 4))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const canvasSpec = `{"source":{"color":"#000000","width":160,"height":120,"duration":1,"fps":10},
	"stickers":[{"type":"image","builtin":"star","width":0.5}]}`

func TestRenderServer_UploadsPathsSubmitsAndDownloads(t *testing.T) {
	fake, url := startFake(t, stickerdtest.Config{OutputBytes: 200 << 10, BreakOutputAfter: 50 << 10})
	dir := t.TempDir()
	logo := pngBytes(t)
	writeFiles(t, dir, map[string][]byte{
		"clip.mp4": []byte("pretend this is a video"), "art/logo.png": logo, "fonts/Brand.ttf": []byte("glyphs"),
		"spec.json": []byte(`{"source":{"path":"clip.mp4"},
			"stickers":[{"type":"image","path":"art/logo.png","x":0.1,"width":0.2},
				{"type":"image","path":"art/logo.png","x":0.9,"start":0.5},
				{"type":"text","text":"hi","font":"fonts/Brand.ttf","size":0.1},
				{"type":"image","builtin":"star","y":0.123456789012}],
			"output":{"format":"mp4"}}`)})
	out := filepath.Join(dir, "out.mp4")
	code, _, stderr := ctl(t, context.Background(), "render", "--server", url, filepath.Join(dir, "spec.json"), "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	subs := fake.Submits()
	if len(subs) != 1 || !strings.HasPrefix(subs[0].IdempotencyKey, "stickerctl-") || bytes.Contains(subs[0].Body, []byte(`"path"`)) {
		t.Fatalf("submits %+v", subs)
	}
	var sent struct {
		Source struct {
			AssetID string `json:"asset_id"`
		}
		Stickers []struct {
			AssetID string `json:"asset_id"`
			Font    string
			Y       json.Number
		}
	}
	if err := json.Unmarshal(subs[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	uploaded := func(id string) []byte {
		a, ok := fake.Asset(id)
		if !ok {
			t.Fatalf("asset %q was not uploaded", id)
		}
		return a.Data
	}
	switch {
	case string(uploaded(sent.Source.AssetID)) != "pretend this is a video",
		!bytes.Equal(uploaded(sent.Stickers[0].AssetID), logo),
		sent.Stickers[1].AssetID != sent.Stickers[0].AssetID,
		string(uploaded(sent.Stickers[2].Font)) != "glyphs",
		sent.Stickers[3].Y != "0.123456789012":
		t.Fatalf("rewritten spec %s", subs[0].Body)
	}
	if n := strings.Count(strings.Join(fake.Requests(), "\n"), "POST /v1/assets"); n != 3 {
		t.Errorf("%d uploads, want 3 (each file once)", n)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, stickerdtest.OutputData(subs[0].JobID, 200<<10)) {
		t.Errorf("output is %d bytes, not the job's", len(got))
	}
	if _, err := os.Stat(out + ".partial"); !os.IsNotExist(err) {
		t.Errorf("partial file left behind: %v", err)
	}
	for _, want := range []string{"uploaded", "submitted job_", "progress 100%", "wrote " + out + ": mp4 640x360"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestRenderServer_RerunIsIdempotent(t *testing.T) {
	tests := []struct {
		name       string
		cfg        stickerdtest.Config
		code       int
		jobs       int
		sameKey    []bool // whether submit i used the key of submit 0
		lastCached bool
	}{
		{"a finished job is found again", stickerdtest.Config{}, exitOK, 1, []bool{true, true}, true},
		{"a failed job is submitted again", stickerdtest.Config{Fail: &stickerdtest.JobError{Code: "FFMPEG_FAILED", Message: "x"}},
			exitFailed, 2, []bool{true, true, false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, url := startFake(t, tt.cfg)
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{"spec.json": []byte(canvasSpec)})
			for range 2 {
				code, _, stderr := ctl(t, context.Background(), "render", "-q", "--server", url,
					filepath.Join(dir, "spec.json"), "-o", filepath.Join(dir, "out.webm"))
				if code != tt.code {
					t.Fatalf("exit %d:\n%s", code, stderr)
				}
			}
			subs := fake.Submits()
			jobs := map[string]bool{}
			for i, s := range subs {
				jobs[s.JobID] = true
				if i < len(tt.sameKey) && (s.IdempotencyKey == subs[0].IdempotencyKey) != tt.sameKey[i] {
					t.Errorf("submit %d key %s, first %s", i, s.IdempotencyKey, subs[0].IdempotencyKey)
				}
			}
			if len(subs) != len(tt.sameKey) || len(jobs) != tt.jobs || subs[len(subs)-1].Cached != tt.lastCached {
				t.Fatalf("submits %+v", subs)
			}
		})
	}
}

func TestRenderServer_ExitCodes(t *testing.T) {
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + closed.Addr().String()
	closed.Close()
	tests := []struct {
		name string
		cfg  stickerdtest.Config
		spec string
		args []string
		code int
		msg  []string
	}{
		{"refused spec", stickerdtest.Config{}, `{"source":{"color":"#000000","width":160,"height":120,"duration":1},
			"stickers":[{"type":"image","builtin":"star","x":7,"colour":"red"}]}`, nil, exitInvalid,
			[]string{"SPEC_INVALID", "  stickers[0].colour: unknown field", "  stickers[0].x:"}},
		{"missing local file", stickerdtest.Config{}, `{"source":{"path":"none.mp4"},"stickers":[{"type":"text","text":"a"}]}`,
			nil, exitInvalid, []string{"source.path", "no such file"}},
		{"upload too large", stickerdtest.Config{MaxUploadBytes: 4}, `{"source":{"path":"spec.json"},"stickers":[{"type":"text","text":"a"}]}`,
			nil, exitInvalid, []string{"stickerctl: uploading ", "(source.path): ASSET_TOO_LARGE: uploads are at most 4 bytes"}},
		{"render failed", stickerdtest.Config{Fail: &stickerdtest.JobError{Code: "FFMPEG_FAILED", Message: "ffmpeg exited 1"}},
			canvasSpec, nil, exitFailed, []string{"failed", "FFMPEG_FAILED: ffmpeg exited 1"}},
		{"wrong API key", stickerdtest.Config{APIKey: "right"}, canvasSpec, []string{"--api-key", "wrong"}, exitUsage,
			[]string{"UNAUTHORIZED", "STICKERD_API_KEY"}},
		{"not a server URL", stickerdtest.Config{}, canvasSpec, []string{"--server", "ftp://x"}, exitUsage,
			[]string{`--server "ftp://x": want http://HOST:PORT`}},
		{"server down", stickerdtest.Config{}, canvasSpec, []string{"--server", deadURL}, exitFailed,
			[]string{"stickerctl: cannot reach " + deadURL + ": connection refused — is `make run` running?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startFake(t, tt.cfg)
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{"spec.json": []byte(tt.spec)})
			args := append([]string{"render", "--server", url, filepath.Join(dir, "spec.json"), "-o", filepath.Join(dir, "o.mp4")}, tt.args...)
			code, _, stderr := ctl(t, context.Background(), args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.code, stderr)
			}
			for _, m := range tt.msg {
				if !strings.Contains(stderr, m) {
					t.Errorf("stderr lacks %q:\n%s", m, stderr)
				}
			}
		})
	}
}

func TestRenderServer_InterruptCancelsTheJob(t *testing.T) {
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	fake, url := startFake(t, stickerdtest.Config{Hold: true, OnRequest: func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/events") {
			time.AfterFunc(50*time.Millisecond, interrupt) // Ctrl-C while the bar runs
		}
	}})
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"spec.json": []byte(canvasSpec)})
	out := filepath.Join(dir, "out.mp4")
	code, _, stderr := ctl(t, ctx, "render", "--server", url, filepath.Join(dir, "spec.json"), "-o", out)
	if code != exitCanceled || !strings.Contains(stderr, "interrupted; canceled job_") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	id := fake.Submits()[0].JobID
	if reqs := strings.Join(fake.Requests(), "\n"); !strings.Contains(reqs, "DELETE /v1/renders/"+id) {
		t.Fatalf("no DELETE sent:\n%s", reqs)
	}
	if j, err := stickerd.New(url).GetRender(context.Background(), stickerd.JobID(id)); err != nil || j.Status != stickerd.StatusCanceled {
		t.Fatalf("job %+v, %v", j, err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output exists: %v", err)
	}
}

func TestJobCommands(t *testing.T) {
	_, url := startFake(t, stickerdtest.Config{Hold: true})
	job, _, err := stickerd.New(url).SubmitRender(context.Background(), canvasSpec)
	if err != nil {
		t.Fatal(err)
	}
	id := string(job.ID)
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"status", []string{"status", id}, exitOK, id + "  running  0%\n  priority normal, attempts 1, worker fake-worker-1", ""},
		{"status as JSON", []string{"status", "--json", id}, exitOK, `"id": "` + id + `"`, ""},
		{"status of no job", []string{"status", "job_none"}, exitFailed, "", "no job job_none"},
		{"status without an id", []string{"status"}, exitUsage, "", "need exactly one JOB_ID"},
		{"cancel", []string{"cancel", id}, exitOK, id + " canceled\n", ""},
		{"cancel again", []string{"cancel", id}, exitFailed, "", id + " already ended: canceled"},
		{"status after", []string{"status", id}, exitOK, "  error CANCELED: canceled by the client", ""},
		{"stickers", []string{"stickers"}, exitOK, "beating-heart    Beating Heart    animated gif, 16 frames", ""},
		{"stickers as JSON", []string{"stickers", "--json"}, exitOK, `"name": "heart"`, ""},
		{"stickers with an argument", []string{"stickers", "heart"}, exitUsage, "", "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{tt.args[0], "--server", url}, tt.args[1:]...)
			code, stdout, stderr := ctl(t, context.Background(), args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
		})
	}
}
