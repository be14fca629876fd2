package gateway

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
)

func TestRenders_IdempotencyKey(t *testing.T) {
	for _, ids := range []bool{false, true} {
		name := "submitter picks ids"
		if ids {
			name = "submitter takes ids"
		}
		t.Run(name, func(t *testing.T) {
			opts := []option{withDeps(func(d *Deps) { d.Idempotency = &memIdem{} })}
			if ids {
				opts = append(opts, withIDs())
			}
			h := newHarness(t, opts...)
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

func TestRenders_IdempotencyKeyJobNeverMade(t *testing.T) {
	idem := &memIdem{}
	h := newHarness(t, withDeps(func(d *Deps) { d.Idempotency = idem }), withIDs())
	// A request claimed the key and then failed before its job was written.
	sp := mustParse(t, canvasSpec("a"))
	idem.Reserve(h.ctx(), "idem:default:lost", specHash(sp), "job_claimedbutnevermade", 0)
	var v publicJob
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "lost"), 202, &v)
	if v.ID != "job_claimedbutnevermade" {
		t.Fatalf("retry made %s, want the claimed id", v.ID)
	}
}

func TestRenders_IdempotencyStoreDownFailsOpen(t *testing.T) {
	h := newHarness(t, withDeps(func(d *Deps) { d.Idempotency = &memIdem{failing: true} }))
	before := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("idempotency"))
	decode(t, h.submit(canvasSpec("a"), "Idempotency-Key", "k"), 202, nil)
	if got := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("idempotency")); got != before+1 {
		t.Fatalf("fail-open count %g, want %g", got, before+1)
	}
}
