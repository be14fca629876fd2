package gateway

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

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/services/assets"
	"github.com/stickerd/stickerd/services/submit"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// harness is a gateway over real parts: an embedded etcd, the state store,
// a blob folder, the asset store with the real ffprobe, and a Submitter
// without Kafka (jobs stay queued until a test changes them).
type harness struct {
	t      *testing.T
	store  *jobstore.Store
	blobs  blob.Dir
	assets *assets.Store
	sub    *submit.Submitter
	cfg    Config
	deps   Deps
	gw     *Gateway
	srv    *httptest.Server
	depFns []func(*harness, *Deps)
}

type option func(*harness)

func withConfig(fn func(*Config)) option { return func(h *harness) { fn(&h.cfg) } }
func withDeps(fn func(*Deps)) option {
	return func(h *harness) { h.depFns = append(h.depFns, func(_ *harness, d *Deps) { fn(d) }) }
}

// withIDs gives the gateway a Submitter that takes ids from the caller.
func withIDs() option {
	return func(h *harness) {
		h.depFns = append(h.depFns, func(h *harness, d *Deps) { d.Submitter = idSubmitter{Submitter: h.sub, store: h.store} })
	}
}

// withClient puts the stores on cli instead of the shared member.
func withClient(cli *clientv3.Client) option {
	return func(h *harness) {
		h.store = jobstore.New(cli, "")
		h.assets = assets.New(cli, "", h.blobs, media.Prober{FFprobe: "ffprobe", Limits: media.DefaultLimits()})
		h.assets.RequestTimeout = 300 * time.Millisecond
	}
}

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	// Unique per run, so that -count=N starts from an empty store.
	prefix := fmt.Sprintf("/test/%s/%d", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()), time.Now().UnixNano())
	h := &harness{t: t, blobs: blob.Dir{Root: t.TempDir()}}
	h.store = jobstore.New(shared, prefix)
	h.assets = assets.New(shared, prefix, h.blobs, media.Prober{FFprobe: "ffprobe", Limits: media.DefaultLimits()})
	h.cfg = DefaultConfig()
	h.cfg.Loopback = true
	h.cfg.HeartbeatInterval = time.Hour
	for _, o := range opts {
		o(h)
	}
	h.sub = &submit.Submitter{Store: h.store}
	h.deps = Deps{Jobs: h.store, Submitter: h.sub, Assets: h.assets, Blobs: h.blobs}
	for _, fn := range h.depFns {
		fn(h, &h.deps)
	}
	gw, err := New(h.cfg, h.deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.gw = gw
	h.srv = httptest.NewServer(gw.Handler())
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// do sends a request; header is pairs of names and values.
func (h *harness) do(method, path string, body io.Reader, header ...string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
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

// submit posts a render request as JSON.
func (h *harness) submit(specJSON string, header ...string) *http.Response {
	h.t.Helper()
	return h.do("POST", "/v1/renders", strings.NewReader(specJSON), append([]string{"Content-Type", "application/json"}, header...)...)
}

// upload posts raw bytes to /v1/assets and returns the asset.
func (h *harness) upload(data []byte, header ...string) publicAsset {
	h.t.Helper()
	resp := h.do("POST", "/v1/assets", bytes.NewReader(data), header...)
	var a publicAsset
	decode(h.t, resp, http.StatusCreated, &a)
	return a
}

// decode checks the status and reads the JSON body into v.
func decode(t *testing.T, resp *http.Response, status int, v any) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("decoding %s: %v", body, err)
		}
	}
}

// update changes a job record as the scheduler would.
func (h *harness) update(id string, fn func(*jobs.Job)) *jobs.Job {
	h.t.Helper()
	j, err := h.store.Update(h.ctx(), jobs.ID(id), func(j *jobs.Job) error { fn(j); return nil })
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

// succeed marks a job succeeded with data as its stored output.
func (h *harness) succeed(id string, format string, data []byte) *jobs.Job {
	h.t.Helper()
	j, err := h.store.Get(h.ctx(), jobs.ID(id))
	if err != nil {
		h.t.Fatal(err)
	}
	key := blob.OutputKey(j.Tenant, id, 1, format)
	if _, err := h.blobs.Put(h.ctx(), key, bytes.NewReader(data), 0); err != nil {
		h.t.Fatal(err)
	}
	return h.update(id, func(j *jobs.Job) {
		now := time.Now().UTC().Truncate(time.Second)
		w := "worker-1"
		j.Status, j.Progress, j.Attempts, j.StartedAt, j.FinishedAt, j.Worker = jobs.Succeeded, 1, 1, &now, &now, &w
		j.Output = &jobs.Output{URL: "/v1/renders/" + id + "/output", Key: key, Bytes: int64(len(data)), Format: format,
			Width: 64, Height: 48, Duration: 1, Encoder: "libx264"}
		j.Completions = 1
	})
}

// canvasSpec is a valid request with no assets: a blank canvas and a
// built-in sticker, with a distinguishing text.
func canvasSpec(text string) string {
	return `{"source":{"color":"#102030","width":320,"height":240,"duration":1,"fps":10},
	  "stickers":[{"type":"image","builtin":"heart"},{"type":"text","text":` + quote(text) + `}],
	  "output":{"format":"mp4"},"metadata":{"k":"v"}}`
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }
