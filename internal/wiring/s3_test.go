package wiring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/blob/s3test"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/services/assets/assetstest"
	"github.com/stickerd/stickerd/services/gateway"
)

// s3Gateway is a loopback gateway (no keys) in front of s, on a test server.
func s3Gateway(t *testing.T, s *Stack, maxUpload int64) string {
	t.Helper()
	gcfg := gateway.DefaultConfig()
	gcfg.Loopback = true
	if maxUpload > 0 {
		gcfg.MaxUploadBytes = maxUpload
	}
	g, err := s.Gateway(GatewayOptions{Config: gcfg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func upload(t *testing.T, base string, body io.Reader, ct string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/assets", body)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestS3_RenderEndToEnd: with the blob store in an S3 bucket (versitygw),
// an uploaded sticker goes into the bucket, a worker reads it back, renders,
// stores the output in the bucket, and the gateway serves it with Range.
func TestS3_RenderEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	srv := s3test.Start(t)
	cfg := testConfig(t)
	cfg.Blobs = srv.Store("stickerd")
	s := start(t, cfg)
	base := s3Gateway(t, s, 0)

	resp, body := upload(t, base, bytes.NewReader(assetstest.PNG(t, 40, 30)), "image/png")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var asset struct{ ID string }
	json.Unmarshal(body, &asset)
	spec := fmt.Sprintf(`{"source":{"color":"#0000FF","width":160,"height":120,"duration":1,"fps":10},
		"stickers":[{"type":"image","asset_id":%q,"width":0.5}]}`, asset.ID)
	resp, err := http.Post(base+"/v1/renders", "application/json", strings.NewReader(spec))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d %s", resp.StatusCode, body)
	}
	var job struct{ ID jobs.ID }
	json.Unmarshal(body, &job)
	waitTerminal(t, s, 90*time.Second, job.ID)
	j := get(t, s, job.ID)
	if j.Status != jobs.Succeeded || j.Output == nil {
		t.Fatalf("job %s: %+v", j.Status, j.Error)
	}

	keys := srv.Keys(t)
	want := map[string]bool{"stickerd/" + blob.AssetKey(gateway.DefaultTenant, asset.ID): false, "stickerd/" + j.Output.Key: false}
	for _, k := range keys {
		if strings.HasPrefix(k, "stickerd/uploads/") {
			t.Errorf("a temporary upload is left in the bucket: %s", k)
		}
		if _, ok := want[k]; ok {
			want[k] = true
		}
	}
	for k, found := range want {
		if !found {
			t.Errorf("%s is not in the bucket %v", k, keys)
		}
	}
	whole := objectBytes(t, srv, "stickerd/"+j.Output.Key)
	if int64(len(whole)) != j.Output.Bytes {
		t.Fatalf("the bucket holds %d bytes, the job says %d", len(whole), j.Output.Bytes)
	}

	req, _ := http.NewRequest(http.MethodGet, base+"/v1/renders/"+string(job.ID)+"/output", nil)
	req.Header.Set("Range", "bytes=100-299")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, whole[100:300]) {
		t.Fatalf("range: %d, %d bytes (Content-Range %q)", resp.StatusCode, len(got), resp.Header.Get("Content-Range"))
	}
	if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes 100-299/%d", len(whole)) {
		t.Fatalf("Content-Range %q", cr)
	}
	resp, err = http.Get(base + "/v1/renders/" + string(job.ID) + "/output")
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, whole) {
		t.Fatalf("download: %d, %d bytes of %d", resp.StatusCode, len(got), len(whole))
	}
}

func objectBytes(t *testing.T, srv *s3test.Server, key string) []byte {
	t.Helper()
	o, err := srv.Client(t).GetObject(context.Background(), s3test.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(key, err)
	}
	return b
}

// chunks yields n bytes in 64 KiB writes, calling at once after the first
// half: the store dies mid-upload.
type chunks struct {
	n, sent int
	at      func()
	fired   bool
}

func (c *chunks) Read(p []byte) (int, error) {
	if c.sent >= c.n {
		return 0, io.EOF
	}
	if !c.fired && c.sent >= c.n/2 {
		c.fired = true
		c.at()
	}
	k := min(len(p), 64<<10, c.n-c.sent)
	for i := range p[:k] {
		p[i] = byte(c.sent + i)
	}
	c.sent += k
	return k, nil
}

// TestS3_UploadStoreDies: the S3 server is killed while an upload streams
// into it. The gateway answers 503 STORAGE_FAILED with Retry-After, no
// object is left in the bucket, and once the server is back an upload
// succeeds.
func TestS3_UploadStoreDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	srv := s3test.Start(t)
	cfg := testConfig(t)
	cfg.Workers = 0
	cfg.Blobs = srv.Store("")
	s := start(t, cfg)
	base := s3Gateway(t, s, 0)

	body := &chunks{n: 64 << 20, at: srv.Stop} // 4 parts; the server dies after 2
	resp, b := upload(t, base, body, "video/mp4")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("store died mid-upload: %d Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	var p struct{ Code string }
	json.Unmarshal(b, &p)
	if p.Code != "STORAGE_FAILED" {
		t.Fatalf("code %q: %s", p.Code, b)
	}

	// While it is down, a small upload (one PUT) is refused the same way.
	resp, b = upload(t, base, bytes.NewReader(assetstest.PNG(t, 8, 8)), "image/png")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("store down: %d %s", resp.StatusCode, b)
	}

	srv.Restart()
	if keys := srv.Keys(t); len(keys) != 0 {
		t.Fatalf("a failed upload left objects: %v", keys)
	}
	resp, b = upload(t, base, bytes.NewReader(assetstest.PNG(t, 8, 8)), "image/png")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("after the restart: %d %s", resp.StatusCode, b)
	}
	keys := srv.Keys(t)
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "assets/") {
		t.Fatalf("bucket after one upload: %v", keys)
	}
}

// TestS3_StoreFull: a store that says it is full (MinIO's
// XMinioStorageFull) is answered 507.
func TestS3_StoreFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	full := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInsufficientStorage)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>XMinioStorageFull</Code><Message>Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.</Message></Error>`)
	}))
	defer full.Close()
	srv := s3test.Start(t) // for its configuration only
	bc := srv.Config("")
	bc.S3Endpoint = full.URL
	cfg := testConfig(t)
	cfg.Workers = 0
	var err error
	if cfg.Blobs, err = blob.Open(context.Background(), bc); err != nil {
		t.Fatal(err)
	}
	s := start(t, cfg)
	base := s3Gateway(t, s, 0)
	resp, b := upload(t, base, bytes.NewReader(assetstest.PNG(t, 8, 8)), "image/png")
	if resp.StatusCode != http.StatusInsufficientStorage {
		t.Fatalf("full store: %d %s", resp.StatusCode, b)
	}
}

// TestS3_WorkerStoreDown: a worker that cannot read its input from the
// store fails the attempt with STORAGE_FAILED, which is retried; once the
// store is back the job succeeds.
func TestS3_WorkerStoreDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	srv := s3test.Start(t)
	cfg := testConfig(t)
	cfg.Blobs = srv.Store("")
	cfg.Scheduler.MaxAttempts = 1000
	s := start(t, cfg)
	base := s3Gateway(t, s, 0)
	resp, body := upload(t, base, bytes.NewReader(assetstest.PNG(t, 40, 30)), "image/png")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var asset struct{ ID string }
	json.Unmarshal(body, &asset)
	srv.Stop()
	resp, err := http.Post(base+"/v1/renders", "application/json", strings.NewReader(fmt.Sprintf(
		`{"source":{"color":"#0000FF","width":160,"height":120,"duration":1,"fps":10},"stickers":[{"type":"image","asset_id":%q,"width":0.5}]}`, asset.ID)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d %s", resp.StatusCode, body)
	}
	var j struct{ ID jobs.ID }
	json.Unmarshal(body, &j)
	waitFor(t, 30*time.Second, "a failed attempt", func() bool {
		g := get(t, s, j.ID)
		return g.Attempts >= 2 && g.Error != nil
	})
	if g := get(t, s, j.ID); g.Status.Terminal() || g.Error.Code != "STORAGE_FAILED" {
		t.Fatalf("with the store down: %s %+v", g.Status, g.Error)
	}
	srv.Restart()
	waitTerminal(t, s, 60*time.Second, j.ID)
	if g := get(t, s, j.ID); g.Status != jobs.Succeeded {
		t.Fatalf("after the restart: %s %+v", g.Status, g.Error)
	}
}
