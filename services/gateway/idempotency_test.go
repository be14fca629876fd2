package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/services/submit"
)

// plainSubmitter hides everything but Submit and Cancel: the gateway
// picks no ids and keeps no keys in the state store, so it falls back on
// Deps.Idempotency.
type plainSubmitter struct{ Submitter }

// plainIDSubmitter adds SubmitID to plainSubmitter.
type plainIDSubmitter struct {
	Submitter
	IDSubmitter
}

func withoutStoreKeys(ids bool) option {
	return withDeps(func(d *Deps) {
		if ids {
			d.Submitter = plainIDSubmitter{d.Submitter, d.Submitter.(IDSubmitter)}
		} else {
			d.Submitter = plainSubmitter{d.Submitter}
		}
	})
}

func TestRenders_IdempotencyKey(t *testing.T) {
	tests := []struct {
		name string
		opts []option
	}{
		{"state store, no redis", nil},
		{"state store, redis too", []option{withDeps(func(d *Deps) { d.Idempotency = &memIdem{} })}},
		{"redis fallback, submitter picks ids", []option{withDeps(func(d *Deps) { d.Idempotency = &memIdem{} }), withoutStoreKeys(false)}},
		{"redis fallback, submitter takes ids", []option{withDeps(func(d *Deps) { d.Idempotency = &memIdem{} }), withoutStoreKeys(true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts...)
			var first, again publicJob
			decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k1"), 202, &first)
			// The same body, formatted differently, is the same request.
			decode(t, h.submit("  "+canvasSpec("a")+"\n", "Idempotency-Key", "k1"), 202, &again)
			if again.ID != first.ID {
				t.Fatalf("replay made job %s, want %s", again.ID, first.ID)
			}
			checkProblem(t, h.submit(canvasSpec("b"), "Idempotency-Key", "k1"), 409, errcode.Conflict)

			// The replay shows the job as it is now.
			h.update(string(first.ID), func(j *jobs.Job) { j.Status, j.Progress = jobs.Running, 0.5 })
			decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k1"), 202, &again)
			if again.ID != first.ID || again.Status != jobs.Running {
				t.Fatalf("replay %+v", again)
			}
			// Another key is another job.
			decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k2"), 202, &again)
			if again.ID == first.ID {
				t.Fatal("a new key replayed the old job")
			}
			live, _, err := h.store.List(h.ctx(), jobstore.ListOptions{Tenant: DefaultTenant, Status: jobs.Queued})
			if err != nil || len(live) != 1 {
				t.Fatalf("queued jobs %d (%v), want only k2's", len(live), err)
			}
		})
	}
}

// crashingStore writes a job, and then its gateway "dies": the write is
// committed, the client hears nothing of it.
type crashingStore struct{ *jobstore.Store }

var errKilled = errors.New("the gateway was killed after the job was written")

func (s crashingStore) Create(ctx context.Context, j *jobs.Job) (*jobs.Job, error) {
	if _, err := s.Store.Create(ctx, j); err != nil {
		return nil, err
	}
	return nil, errKilled
}

func (s crashingStore) CreateIdempotent(ctx context.Context, j *jobs.Job, k jobstore.IdemKey) (*jobs.Job, bool, error) {
	if _, _, err := s.Store.CreateIdempotent(ctx, j, k); err != nil {
		return nil, false, err
	}
	return nil, false, errKilled
}

// secondGateway is another gateway over the harness's store and assets,
// with sub as its submitter and no Idempotency store (no Redis).
func secondGateway(t *testing.T, h *harness, sub Submitter) *httptest.Server {
	t.Helper()
	deps := Deps{Jobs: h.store, Submitter: sub, Assets: h.assets, Blobs: h.blobs}
	gw, err := New(h.cfg, deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func submitTo(t *testing.T, srv *httptest.Server, specJSON, idemKey string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+"/v1/renders", strings.NewReader(specJSON))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idemKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func tenantJobs(t *testing.T, h *harness) []*jobs.Job {
	t.Helper()
	list, _, err := h.store.List(h.ctx(), jobstore.ListOptions{Tenant: DefaultTenant})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestRenders_IdempotencyAcrossGateways is issue 13's failure: without
// Redis, a request whose gateway was killed after it made the job was
// retried on another gateway, which made a second job for the same key.
func TestRenders_IdempotencyAcrossGateways(t *testing.T) {
	h := newHarness(t) // gateway B: no Idempotency dependency
	killed := secondGateway(t, h, &submit.Submitter{Store: crashingStore{h.store}})

	resp := submitTo(t, killed, canvasSpec("a"), "order-1")
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode < 500 {
		t.Fatalf("the killed gateway answered %d", resp.StatusCode)
	}
	made := tenantJobs(t, h)
	if len(made) != 1 {
		t.Fatalf("%d jobs after the killed request, want the 1 it wrote", len(made))
	}

	// The client retries on gateway B: the job the key made, not a new one.
	var retry publicJob
	decode(t, h.submit(" "+canvasSpec("a"), "Idempotency-Key", "order-1"), 202, &retry)
	if retry.ID != made[0].ID {
		t.Fatalf("the retry answered %s, want %s", retry.ID, made[0].ID)
	}
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "order-1"), 202, &retry)
	if retry.ID != made[0].ID {
		t.Fatalf("a second retry answered %s, want %s", retry.ID, made[0].ID)
	}
	checkProblem(t, h.submit(canvasSpec("b"), "Idempotency-Key", "order-1"), 409, errcode.Conflict)
	if n := len(tenantJobs(t, h)); n != 1 {
		t.Fatalf("%d jobs for one Idempotency-Key, want 1", n)
	}

	t.Run("the key expires", func(t *testing.T) {
		h := newHarness(t, withConfig(func(c *Config) { c.IdempotencyTTL = time.Second }))
		other := secondGateway(t, h, h.sub)
		var first publicJob
		start := time.Now()
		decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k"), 202, &first)
		for {
			resp := submitTo(t, other, canvasSpec("b"), "k")
			if resp.StatusCode == http.StatusAccepted {
				var v publicJob
				decode(t, resp, 202, &v)
				if v.ID == first.ID {
					t.Fatalf("another body after expiry answered the old job %s", v.ID)
				}
				break
			}
			checkProblem(t, resp, 409, errcode.Conflict)
			if time.Since(start) > 15*time.Second {
				t.Fatalf("the key is still held after %s with a TTL of 1s", time.Since(start))
			}
			time.Sleep(200 * time.Millisecond)
		}
		if held := time.Since(start); held < time.Second {
			t.Fatalf("the key was free after %s, before its TTL", held)
		}
	})
}

func TestRenders_IdempotencyKeyCacheHit(t *testing.T) {
	h := newHarness(t, withDeps(func(d *Deps) { d.Cache = &memCache{} }))
	var done publicJob
	decode(t, h.submit(canvasSpec("a")), 202, &done)
	h.succeed(string(done.ID), "mp4", []byte("rendered"))
	decode(t, h.do("GET", "/v1/renders/"+string(done.ID), nil), 200, nil) // the GET writes the entry

	// A cache hit under a new key: 200, and the key now names that job.
	var v publicJob
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k"), 200, &v)
	if v.ID != done.ID {
		t.Fatalf("cache hit answered %s, want %s", v.ID, done.ID)
	}
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k"), 202, &v)
	if v.ID != done.ID {
		t.Fatalf("the key's replay answered %s, want %s", v.ID, done.ID)
	}
	checkProblem(t, h.submit(canvasSpec("b"), "Idempotency-Key", "k"), 409, errcode.Conflict)
	if n := len(tenantJobs(t, h)); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
}

func TestRenders_IdempotencyKeyReplayWhileQueueFull(t *testing.T) {
	var depth atomic.Int64
	h := newHarness(t, withDeps(func(d *Deps) { d.QueueDepth = func() (int, error) { return int(depth.Load()), nil } }))
	var first, again publicJob
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k"), 202, &first)
	depth.Store(int64(h.cfg.QueueDepthLimit))
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k"), 202, &again)
	if again.ID != first.ID {
		t.Fatalf("replay answered %s, want %s", again.ID, first.ID)
	}
	checkProblem(t, h.submit(canvasSpec("b"), "Idempotency-Key", "k"), 409, errcode.Conflict)
	checkProblem(t, h.submit(canvasSpec("a"), "Idempotency-Key", "new"), 503, errcode.QueueUnavailable)
}

func TestRenders_IdempotencyKeyJobNeverMade(t *testing.T) {
	idem := &memIdem{}
	h := newHarness(t, withDeps(func(d *Deps) { d.Idempotency = idem }), withoutStoreKeys(true))
	// A request claimed the key in Redis and then failed before its job was
	// written.
	sp := mustParse(t, canvasSpec("a"))
	idem.Reserve(h.ctx(), "idem:default:lost", specHash(sp), "job_claimedbutnevermade", 0)
	var v publicJob
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "lost"), 202, &v)
	if v.ID != "job_claimedbutnevermade" {
		t.Fatalf("retry made %s, want the claimed id", v.ID)
	}
}

func TestRenders_IdempotencyStoreDownFailsOpen(t *testing.T) {
	h := newHarness(t, withDeps(func(d *Deps) { d.Idempotency = &memIdem{failing: true} }), withoutStoreKeys(true))
	before := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("idempotency"))
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k"), 202, nil)
	if got := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("idempotency")); got != before+1 {
		t.Fatalf("fail-open count %g, want %g", got, before+1)
	}
}

// TestRenders_IdempotencyWithRedisDown: keys kept in the state store do
// not need Redis, so a Redis outage costs no idempotency.
func TestRenders_IdempotencyWithRedisDown(t *testing.T) {
	h := newHarness(t, withDeps(func(d *Deps) { d.Idempotency = &memIdem{failing: true} }))
	before := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("idempotency"))
	var first, again publicJob
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k"), 202, &first)
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k"), 202, &again)
	if again.ID != first.ID {
		t.Fatalf("replay answered %s, want %s", again.ID, first.ID)
	}
	if got := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("idempotency")); got != before {
		t.Fatalf("fail-open count %g, want %g: Redis was asked", got, before)
	}
}
