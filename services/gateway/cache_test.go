package gateway

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/services/assets/assetstest"
	"github.com/stickerd/stickerd/services/gateway/resultcache"
)

func mustParse(t *testing.T, s string) *spec.Spec {
	t.Helper()
	sp, err := spec.Parse([]byte(s), spec.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestRenders_CacheHit(t *testing.T) {
	cache := &memCache{}
	h := newHarness(t, withDeps(func(d *Deps) { d.Cache = cache }))
	video := h.upload(assetstest.MP4(t), "Content-Type", "video/mp4")
	sticker := h.upload(assetstest.PNG(t, 8, 8), "Content-Type", "image/png")
	body := `{"source":{"asset_id":"` + video.ID + `"},"stickers":[{"type":"image","asset_id":"` + sticker.ID + `"},{"type":"image","builtin":"star"}]}`

	var first publicJob
	decode(t, h.submit(body), http.StatusAccepted, &first)
	decode(t, h.submit(body), http.StatusAccepted, nil) // not finished: no entry yet
	h.succeed(string(first.ID), "mp4", []byte("rendered"))
	decode(t, h.do("GET", "/v1/renders/"+string(first.ID), nil), 200, nil) // the GET writes the entry
	if cache.len() != 1 {
		t.Fatalf("cache has %d entries after the GET", cache.len())
	}
	var hit publicJob
	decode(t, h.submit(body), http.StatusOK, &hit)
	if hit.ID != first.ID || hit.Status != jobs.Succeeded || hit.Output == nil {
		t.Fatalf("cache hit %+v", hit)
	}
	// The key of a stored job matches the key of the request.
	key, ok, err := h.gw.CacheKey(h.ctx(), DefaultTenant, mustParse(t, body))
	if err != nil || !ok || cache.m[key] != string(first.ID) {
		t.Fatalf("CacheKey = %q %v %v; entries %v", key, ok, err, cache.m)
	}

	t.Run("other bytes under the same spec miss", func(t *testing.T) {
		other := h.upload(assetstest.PNG(t, 9, 9), "Content-Type", "image/png")
		k1, _, _ := h.gw.CacheKey(h.ctx(), DefaultTenant, mustParse(t, body))
		cache.m[k1] = string(first.ID)
		swapped := bytes.ReplaceAll([]byte(body), []byte(sticker.ID), []byte(other.ID))
		decode(t, h.submit(string(swapped)), http.StatusAccepted, nil)
	})
	t.Run("a deleted output misses", func(t *testing.T) {
		j, _ := h.store.Get(h.ctx(), first.ID)
		h.blobs.Delete(context.Background(), j.Output.Key)
		defer h.blobs.Put(context.Background(), j.Output.Key, bytes.NewReader([]byte("rendered")), 0)
		decode(t, h.submit(body), http.StatusAccepted, nil)
	})
	t.Run("a failing cache is bypassed", func(t *testing.T) {
		cache.failing = true
		defer func() { cache.failing = false }()
		before := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("cache"))
		var v publicJob
		decode(t, h.submit(body), http.StatusAccepted, &v)
		if v.ID == first.ID || testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("cache")) != before+1 {
			t.Fatalf("job %s; fail-open count not raised", v.ID)
		}
	})
	t.Run("another tenant's identical request misses", func(t *testing.T) {
		k, _, _ := resultcache.Key(h.ctx(), h.assets, "globex", mustParse(t, body))
		if k == key {
			t.Fatal("two tenants share a cache key")
		}
	})
}

func TestRenders_URLSpecsAreNotCached(t *testing.T) {
	cache := &memCache{}
	h := newHarness(t, withDeps(func(d *Deps) { d.Cache = cache }))
	body := `{"source":{"url":"https://93.184.216.34/a.mp4"},"stickers":[{"type":"text","text":"x"}]}`
	var first publicJob
	decode(t, h.submit(body), http.StatusAccepted, &first)
	h.succeed(string(first.ID), "mp4", []byte("x"))
	decode(t, h.do("GET", "/v1/renders/"+string(first.ID), nil), 200, nil)
	if cache.len() != 0 {
		t.Fatalf("a URL spec was cached: %v", cache.m)
	}
	if _, ok, _ := h.gw.CacheKey(h.ctx(), DefaultTenant, mustParse(t, body)); ok {
		t.Fatal("CacheKey says a URL spec is cacheable")
	}
}
