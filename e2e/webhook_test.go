package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	stickerd "github.com/stickerd/stickerd/sdk/go"
	"github.com/stickerd/stickerd/services/gateway"
	"github.com/stickerd/stickerd/services/webhook"
)

// receiver is a webhook endpoint that records what it is sent.
type receiver struct {
	*httptest.Server
	status int

	mu   sync.Mutex
	hits []delivery
}

type delivery struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, delivery{req.Header.Clone(), body})
		r.mu.Unlock()
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.hits...)
}

// TestE2E_Webhooks: a job's end is POSTed, signed, to its webhook_url; a
// receiver that keeps failing is retried MaxAttempts times and counted
// as a failed delivery.
func TestE2E_Webhooks(t *testing.T) {
	e := mainEnv(t)
	// The receivers are on loopback: the gateway allows private URLs, as
	// --allow-private-urls sets it together with the webhook sender's.
	c := client(e.gateway(t, func(g *gateway.Config) { g.AllowPrivateURLs = true }, nil), "")
	t.Run("delivered and signed", func(t *testing.T) {
		rcv := newReceiver(t, http.StatusNoContent)
		job, _ := submit(t, c, canvasSpec(uniq(t), `,"webhook_url":"`+rcv.URL+`/hooks"`))
		if j := waitJob(t, c, job.ID, time.Minute); j.Status != stickerd.StatusSucceeded {
			t.Fatalf("job ended %s: %v", j.Status, j.Err())
		}
		waitFor(t, 10*time.Second, "the webhook", func() bool { return len(rcv.deliveries()) > 0 })
		d := rcv.deliveries()[0]
		if err := webhook.Verify(webhookSecret, d.header, d.body, time.Minute); err != nil {
			t.Fatalf("signature: %v (headers %v)", err, d.header)
		}
		if err := webhook.Verify(webhook.NewSecret(), d.header, d.body, time.Minute); err == nil {
			t.Fatal("another secret verifies the delivery")
		}
		var got stickerd.Job
		if err := json.Unmarshal(d.body, &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != job.ID || got.Status != stickerd.StatusSucceeded || got.Output == nil || d.header.Get("webhook-id") == "" {
			t.Fatalf("webhook body %s, headers %v", d.body, d.header)
		}
		time.Sleep(200 * time.Millisecond) // a duplicate would come now
		if n := len(rcv.deliveries()); n != 1 {
			t.Fatalf("%d deliveries of one job end", n)
		}
	})
	t.Run("failing receiver", func(t *testing.T) {
		rcv := newReceiver(t, http.StatusInternalServerError)
		before := scrape(t, e.open.URL, `stickerd_webhook_deliveries_total{outcome="failed"}`)
		job, _ := submit(t, c, canvasSpec(uniq(t), `,"webhook_url":"`+rcv.URL+`/hooks"`))
		if j := waitJob(t, c, job.ID, time.Minute); j.Status != stickerd.StatusSucceeded {
			t.Fatalf("job ended %s: %v", j.Status, j.Err())
		}
		attempts := e.cfg.Webhook.MaxAttempts
		waitFor(t, 10*time.Second, "the failed delivery to be counted", func() bool {
			return scrape(t, e.open.URL, `stickerd_webhook_deliveries_total{outcome="failed"}`) >= before+1
		})
		if n := len(rcv.deliveries()); n != attempts {
			t.Fatalf("the receiver got %d attempts, want %d", n, attempts)
		}
		ids := map[string]bool{}
		for _, d := range rcv.deliveries() {
			ids[d.header.Get("webhook-id")] = true
		}
		if len(ids) != 1 {
			t.Fatalf("retries carry webhook-ids %v, want one id", ids)
		}
		if j, err := c.GetRender(testCtx(t, 10*time.Second), job.ID); err != nil || j.Status != stickerd.StatusSucceeded {
			t.Fatalf("a failed webhook changed the job: %+v %v", j, err)
		}
	})
}

// scrape reads one sample of the gateway's /metrics (0 when absent).
func scrape(t *testing.T, base, series string) float64 {
	t.Helper()
	resp := do(t, http.MethodGet, base+"/metrics", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return f
		}
	}
	return 0
}
