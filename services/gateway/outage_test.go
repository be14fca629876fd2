package gateway

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	"github.com/stickerd/stickerd/services/assets/assetstest"
)

func TestGateway_StateStoreDownIs503(t *testing.T) {
	c := etcdtest.StartCluster(t, 1)
	h := newHarness(t, withClient(c.Client()), withConfig(func(c *Config) { c.StoreTimeout = 300 * time.Millisecond }))
	var v publicJob
	decode(t, h.submit(canvasSpec("before")), 202, &v)
	png := h.upload(assetstest.PNG(t, 8, 8), "Content-Type", "image/png")
	decode(t, h.do("GET", "/readyz", nil), 200, nil)

	c.Kill(0)
	requests := []struct {
		name string
		do   func() *http.Response
	}{
		{"get", func() *http.Response { return h.do("GET", "/v1/renders/"+string(v.ID), nil) }},
		{"list", func() *http.Response { return h.do("GET", "/v1/renders", nil) }},
		{"submit", func() *http.Response { return h.submit(canvasSpec("during")) }},
		{"submit naming an asset", func() *http.Response {
			return h.submit(`{"source":{"color":"#000000","width":64,"height":64,"duration":1},"stickers":[{"type":"image","asset_id":"` + png.ID + `"}]}`)
		}},
		{"cancel", func() *http.Response { return h.do("DELETE", "/v1/renders/"+string(v.ID), nil) }},
		{"events", func() *http.Response { return h.do("GET", "/v1/renders/"+string(v.ID)+"/events", nil) }},
		{"output", func() *http.Response { return h.do("GET", "/v1/renders/"+string(v.ID)+"/output", nil) }},
		{"get asset", func() *http.Response { return h.do("GET", "/v1/assets/"+png.ID, nil) }},
		{"upload", func() *http.Response {
			return h.do("POST", "/v1/assets", bytes.NewReader(assetstest.PNG(t, 8, 8)), "Content-Type", "image/png")
		}},
	}
	for _, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			resp := r.do()
			checkProblem(t, resp, 503, errcode.StateStoreUnavailable)
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		})
	}
	t.Run("readyz", func(t *testing.T) {
		resp := h.do("GET", "/readyz", nil)
		body := readAll(t, resp.Body)
		if resp.StatusCode != 503 || !strings.Contains(body, "state_store") {
			t.Fatalf("readyz %d %s", resp.StatusCode, body)
		}
	})
}
