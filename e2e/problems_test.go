package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/sharedstate"
	"github.com/stickerd/stickerd/internal/wiring"
	stickerd "github.com/stickerd/stickerd/sdk/go"
	"github.com/stickerd/stickerd/services/gateway"
)

// TestE2E_Problems sends every refusal of the gateway through a real
// server and checks each is the problem the contract names.
func TestE2E_Problems(t *testing.T) {
	e := mainEnv(t)
	url := e.open.URL
	ok := `"stickers":[{"type":"text","text":"x"}]`
	tests := []struct {
		name, body, contentType string
		status                  int
		code, field             string
		detail                  *regexp.Regexp
	}{
		{"body over the limit", `{"metadata":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}`, "application/json",
			413, "SPEC_INVALID", "", nil},
		{"wrong content type", canvasSpec("x", ""), "text/plain", 415, "SPEC_INVALID", "", nil},
		{"malformed JSON", `{"source": {"color": }`, "application/json", 400, "SPEC_INVALID", "", regexp.MustCompile(`byte \d+`)},
		{"unknown field", `{"source":{"color":"#000000","width":64,"height":64,"duration":1},` +
			`"stickers":[{"type":"text","text":"x","colour":"#FFFFFF"}]}`, "application/json", 400, "SPEC_INVALID", "stickers[0].colour", nil},
		{"loopback source URL", `{"source":{"url":"http://127.0.0.1:9/a.mp4"},` + ok + `}`, "application/json",
			400, "SPEC_INVALID", "source.url", nil},
		{"localhost source URL", `{"source":{"url":"http://localhost/a.mp4"},` + ok + `}`, "application/json",
			400, "SPEC_INVALID", "source.url", nil},
		{"private sticker URL", `{"source":{"color":"#000000","width":64,"height":64,"duration":1},` +
			`"stickers":[{"type":"image","url":"http://10.1.2.3/x.png"}]}`, "application/json", 400, "SPEC_INVALID", "stickers[0].url", nil},
		{"metadata address", `{"source":{"url":"http://169.254.169.254/latest/a.mp4"},` + ok + `}`, "application/json",
			400, "SPEC_INVALID", "source.url", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, http.MethodPost, url+"/v1/renders", strings.NewReader(tt.body), "Content-Type", tt.contentType)
			p := checkProblem(t, resp, tt.status, tt.code)
			if tt.field != "" && !p.names(tt.field) {
				t.Fatalf("problem %+v does not name %s", p, tt.field)
			}
			if tt.detail != nil && !tt.detail.MatchString(p.Detail) {
				t.Fatalf("detail %q does not match %s", p.Detail, tt.detail)
			}
		})
	}

	t.Run("upload over the limit", func(t *testing.T) {
		small := e.gateway(t, func(c *gateway.Config) { c.MaxUploadBytes = 64 << 10 }, nil)
		resp := do(t, http.MethodPost, small.URL+"/v1/assets", bytes.NewReader(make([]byte, 100<<10)), "Content-Type", "image/png")
		checkProblem(t, resp, http.StatusRequestEntityTooLarge, "ASSET_TOO_LARGE")
	})
	t.Run("missing and wrong key", func(t *testing.T) {
		keyed := e.gateway(t, func(c *gateway.Config) { c.APIKeys = map[string]string{keyAcme: tenantAcme} }, nil)
		checkProblem(t, postJSON(t, keyed.URL, canvasSpec(uniq(t), "")), http.StatusUnauthorized, "UNAUTHORIZED")
		checkProblem(t, do(t, http.MethodGet, keyed.URL+"/v1/renders", nil), http.StatusUnauthorized, "UNAUTHORIZED")
		checkProblem(t, do(t, http.MethodGet, keyed.URL+"/v1/renders", nil, "Authorization", "Bearer sk_wrong"),
			http.StatusUnauthorized, "UNAUTHORIZED")
		decode(t, do(t, http.MethodGet, keyed.URL+"/v1/renders", nil, "Authorization", "Bearer "+keyAcme), http.StatusOK, nil)
	})
	t.Run("rate limit", func(t *testing.T) {
		cc := sharedstate.DefaultConfig()
		cc.RateLimit = sharedstate.RateLimit{Rate: 0.2, Burst: 2}
		set, err := sharedstate.Open(context.Background(), cc)
		if err != nil {
			t.Fatal(err)
		}
		defer set.Close()
		co := coordOf(set)
		limited := e.gateway(t, nil, &co)
		for range 2 { // the burst
			decode(t, postJSON(t, limited.URL, canvasSpec(uniq(t), "")), http.StatusAccepted, nil)
		}
		resp := postJSON(t, limited.URL, canvasSpec(uniq(t), ""))
		checkProblem(t, resp, http.StatusTooManyRequests, "RATE_LIMITED")
		retryAfter(t, resp)
	})
}

// TestE2E_QueueDepthLimit runs a stack without workers, so jobs stay
// queued, behind a gateway that takes one queued job at most.
func TestE2E_QueueDepthLimit(t *testing.T) {
	e := ownEnv(t, func(c *wiring.Config) { c.Workers = 0 })
	srv := e.gateway(t, func(c *gateway.Config) { c.QueueDepthLimit = 1 }, nil)
	decode(t, postJSON(t, srv.URL, canvasSpec(uniq(t), "")), http.StatusAccepted, nil)
	waitFor(t, 10*time.Second, "the job in the scheduler's queue", func() bool {
		l := e.stack.Leader()
		return l != nil && l.Scheduler.QueueDepth() >= 1
	})
	resp := postJSON(t, srv.URL, canvasSpec(uniq(t), ""))
	checkProblem(t, resp, http.StatusServiceUnavailable, "QUEUE_UNAVAILABLE")
	retryAfter(t, resp)
}

// TestE2E_TenantIsolation runs a gateway with an API-keys file of two
// tenants: the second sees nothing of the first's jobs, assets and outputs.
func TestE2E_TenantIsolation(t *testing.T) {
	e := mainEnv(t)
	keys := filepath.Join(t.TempDir(), "api-keys")
	if err := os.WriteFile(keys, []byte(fmt.Sprintf("# tenant:key\n%s:%s\n%s:%s\n", tenantAcme, keyAcme, tenantGlobex, keyGlobex)), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := e.keyedFromFile(t, keys)
	acme, globex := client(srv, keyAcme), client(srv, keyGlobex)
	ctx := testCtx(t, time.Minute)

	src := filepath.Join(t.TempDir(), "clip.mp4")
	makeVideo(t, src, 160, 120, 1)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	video, err := acme.UploadAssetRaw(ctx, "video/mp4", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	png, err := acme.UploadAssetRaw(ctx, "image/png", bytes.NewReader(solidPNG(t, 16, 16, red)))
	if err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`{"source":{"asset_id":%q},"stickers":[{"type":"image","asset_id":%q,"width":0.3}],"metadata":{"nonce":%q}}`,
		video.ID, png.ID, uniq(t))
	job, _ := submit(t, acme, spec)
	if j := waitJob(t, acme, job.ID, time.Minute); j.Status != stickerd.StatusSucceeded {
		t.Fatalf("acme's job ended %s: %v", j.Status, j.Err())
	}

	bearer := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	for _, r := range []struct{ name, method, path string }{
		{"job", "GET", "/v1/renders/" + string(job.ID)},
		{"events", "GET", "/v1/renders/" + string(job.ID) + "/events"},
		{"output", "GET", "/v1/renders/" + string(job.ID) + "/output"},
		{"cancel", "DELETE", "/v1/renders/" + string(job.ID)},
		{"video asset", "GET", "/v1/assets/" + string(video.ID)},
		{"image asset", "GET", "/v1/assets/" + string(png.ID)},
	} {
		t.Run("globex gets 404 for acme's "+r.name, func(t *testing.T) {
			checkProblem(t, do(t, r.method, srv.URL+r.path, nil, bearer(keyGlobex)...), http.StatusNotFound, "")
		})
	}
	t.Run("globex names acme's assets in a spec", func(t *testing.T) {
		p := checkProblem(t, postJSON(t, srv.URL, spec, bearer(keyGlobex)...), http.StatusUnprocessableEntity, "ASSET_NOT_FOUND")
		if !p.names("source.asset_id") || !p.names("stickers[0].asset_id") {
			t.Fatalf("problem %+v does not name both assets", p)
		}
	})
	t.Run("globex lists nothing of acme's", func(t *testing.T) {
		list, err := globex.ListRenders(ctx, stickerd.ListOptions{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range list.Items {
			if j.ID == job.ID {
				t.Fatalf("globex lists acme's job %s", j.ID)
			}
		}
	})
	t.Run("acme still sees its own", func(t *testing.T) {
		if j, err := acme.GetRender(ctx, job.ID); err != nil || j.Status != stickerd.StatusSucceeded {
			t.Fatalf("acme's job: %+v %v", j, err)
		}
		decode(t, do(t, "GET", srv.URL+"/v1/renders/"+string(job.ID)+"/output", nil, bearer(keyAcme)...), http.StatusOK, nil)
	})
}
