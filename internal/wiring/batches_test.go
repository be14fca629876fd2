package wiring

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/services/batches"
	"github.com/stickerd/stickerd/services/gateway"
	"github.com/stickerd/stickerd/services/webhook"
)

// A batch through the whole pipeline: rows rendered by the workers (the
// no-op renderer), the batch ended by the gateway's tracker, and its
// webhook delivered once, signed with the stack's secret.
func TestBatch_EndToEndWebhookOnce(t *testing.T) {
	type hook struct {
		id   string
		view batches.View
	}
	var mu sync.Mutex
	var hooks []hook
	secret := webhook.NewSecret()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, 5*time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
		}
		var v batches.View
		json.Unmarshal(body, &v)
		mu.Lock()
		hooks = append(hooks, hook{r.Header.Get(webhook.HeaderID), v})
		mu.Unlock()
	}))
	defer recv.Close()
	cfg := testConfig(t)
	cfg.Renderer = NoopRenderer{}
	cfg.Webhook.Secret, cfg.Webhook.AllowPrivate = secret, true
	s := start(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gcfg := gateway.DefaultConfig()
	gcfg.Loopback, gcfg.AllowPrivateURLs = true, true
	gw, err := s.Gateway(GatewayOptions{Config: gcfg, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	post := func(path, body string) map[string]any {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, v)
		}
		return v
	}
	tpl := post("/v1/templates", `{"name":"t","spec":{"source":{"color":"#000000","width":64,"height":64,"duration":1},
	  "stickers":[{"type":"text","text":"{{name}}"}]},"variables":{"name":{"type":"text"}}}`)
	b := post("/v1/batches", `{"template_id":"`+tpl["id"].(string)+`","rows":[{"name":"a"},{"name":"b"},{"name":3},{"name":"c"}],
	  "webhook_url":"`+recv.URL+`/batches"}`)
	id := b["id"].(string)
	waitFor(t, 60*time.Second, "the batch webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(hooks) > 0
	})
	time.Sleep(500 * time.Millisecond) // a second delivery would come by now
	mu.Lock()
	defer mu.Unlock()
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks, want 1", len(hooks))
	}
	h := hooks[0]
	if h.id != "msg_"+id+"_completed" || h.view.Counts != (batches.Counts{Succeeded: 3, Rejected: 1}) || h.view.FinishedAt == nil {
		t.Fatalf("webhook %s %+v", h.id, h.view)
	}
}
