package localstack

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
)

// A stack on loopback takes a render through its gateway, with the
// options applied: the no-op renderer, a wrapped handler, no rate limit.
func TestStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wrapped atomic.Bool
	srv, err := Start(ctx, t.TempDir(), Options{
		Stack:       func(c *wiring.Config) { c.Renderer = wiring.NoopRenderer{} },
		Gateway:     func(g *gateway.Config) { g.QueueDepthLimit = 10 },
		NoRateLimit: true,
		Handler: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { wrapped.Store(true); h.ServeHTTP(w, r) })
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %s is not on loopback", srv.URL)
	}
	resp, err := http.Post(srv.URL+"/v1/renders", "application/json", strings.NewReader(
		`{"source":{"color":"#102030","width":64,"height":48,"duration":1,"fps":10},"stickers":[{"type":"text","text":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !wrapped.Load() {
		t.Fatalf("status %d, handler wrapped %v", resp.StatusCode, wrapped.Load())
	}
}
