package batches

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
)

// hooks records webhook deliveries.
type hooks struct {
	mu   sync.Mutex
	sent []sent
	fail bool
}

type sent struct {
	url, id string
	view    View
}

func (h *hooks) deliver(_ context.Context, url, id string, body []byte) error {
	var v View
	json.Unmarshal(body, &v)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, sent{url, id, v})
	if h.fail {
		return errcode.New(errcode.WebhookFailed, "receiver down")
	}
	return nil
}

func (h *hooks) list() []sent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sent(nil), h.sent...)
}

// fixture is a batch of accepted and rejected rows, its jobs queued.
type fixture struct {
	store *Memory
	jobs  *jobstore.Memory
	batch *Batch
	rows  []Row
}

func newFixture(t *testing.T, accepted, rejected int, webhook string) *fixture {
	t.Helper()
	f := &fixture{store: NewMemory(), jobs: jobstore.NewMemory()}
	id := NewID()
	var js []*jobs.Job
	for i := range accepted + rejected {
		if i < accepted {
			j := &jobs.Job{ID: jobs.NewID(), Tenant: "acme", Status: jobs.Queued, Priority: jobs.Normal, BatchID: id, Spec: []byte(`{}`)}
			js = append(js, j)
			f.rows = append(f.rows, Row{Row: i, JobID: j.ID})
		} else {
			f.rows = append(f.rows, Row{Row: i, Errors: []errcode.FieldError{{Field: "variables.x", Message: "required"}}})
		}
	}
	if _, err := f.jobs.CreateMany(testCtx(t), js); err != nil {
		t.Fatal(err)
	}
	b := newBatch("acme", f.rows)
	b.ID, b.WebhookURL = id, webhook
	var err error
	if f.batch, err = f.store.Create(testCtx(t), b, f.rows); err != nil {
		t.Fatal(err)
	}
	return f
}

// end moves a row's job to a terminal state.
func (f *fixture) end(t *testing.T, row int, st jobs.Status) {
	t.Helper()
	_, err := f.jobs.Update(testCtx(t), f.rows[row].JobID, func(j *jobs.Job) error {
		now := time.Now().UTC()
		j.Status, j.FinishedAt = st, &now
		if st == jobs.Failed {
			j.Error = &jobs.Error{Code: "FFMPEG_FAILED", Message: "x"}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) tracker(t *testing.T, h *hooks, cfg TrackerConfig) *Tracker {
	t.Helper()
	if cfg.Settle == 0 {
		cfg.Settle = 10 * time.Millisecond
	}
	tr, err := NewTracker(cfg, f.store, f.jobs, h.deliver, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return tr
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A batch ends when its last row does, with its final counts, and its
// webhook is sent once however many trackers watch and however often
// they hear of a job's end.
func TestTracker_EndsOnceWithOneWebhook(t *testing.T) {
	f := newFixture(t, 3, 1, "https://hooks.example/b")
	h := &hooks{}
	trackers := []*Tracker{f.tracker(t, h, TrackerConfig{}), f.tracker(t, h, TrackerConfig{})}
	f.end(t, 0, jobs.Succeeded)
	f.end(t, 1, jobs.Failed)
	time.Sleep(50 * time.Millisecond)
	if b, _ := f.store.Get(testCtx(t), "acme", f.batch.ID); b.Ended() || len(h.list()) != 0 {
		t.Fatalf("ended with a row running: %+v, %d webhooks", b, len(h.list()))
	}
	f.end(t, 2, jobs.Succeeded)
	waitFor(t, "the webhook", func() bool { return len(h.list()) > 0 })
	for range 3 {
		for _, tr := range trackers {
			j, _ := f.jobs.Get(testCtx(t), f.rows[2].JobID)
			tr.JobEnded(j)
			tr.Check(testCtx(t), "acme", f.batch.ID)
		}
	}
	time.Sleep(100 * time.Millisecond)
	got := h.list()
	if len(got) != 1 {
		t.Fatalf("%d webhooks, want 1", len(got))
	}
	w := got[0]
	want := Counts{Succeeded: 2, Failed: 1, Rejected: 1}
	if w.url != "https://hooks.example/b" || w.id != "msg_"+f.batch.ID+"_completed" || w.view.Counts != want ||
		w.view.Status != Completed || len(w.view.Rejected) != 1 || w.view.Rejected[0].Row != 3 {
		t.Fatalf("webhook %+v", w)
	}
	b, _ := f.store.Get(testCtx(t), "acme", f.batch.ID)
	waitFor(t, "the outcome", func() bool {
		b, _ = f.store.Get(testCtx(t), "acme", f.batch.ID)
		return b.Webhook == WebhookDelivered
	})
	if b.Status != Completed || *b.Counts != want || b.FinishedAt == nil {
		t.Fatalf("batch %+v", b)
	}
	if live, _ := f.store.Live(testCtx(t)); len(live) != 0 {
		t.Fatalf("still live: %v", live)
	}
}

// A canceled batch ends canceled; a batch of rejected rows only ends at
// the first sweep; a failed delivery is recorded.
func TestTracker_CanceledRejectedAndFailedDelivery(t *testing.T) {
	f := newFixture(t, 2, 0, "https://hooks.example/c")
	f.store.Update(testCtx(t), "acme", f.batch.ID, func(b *Batch) error { b.CancelRequested = true; return nil })
	h := &hooks{fail: true}
	f.tracker(t, h, TrackerConfig{})
	f.end(t, 0, jobs.Canceled)
	f.end(t, 1, jobs.Succeeded)
	waitFor(t, "the webhook", func() bool { return len(h.list()) == 1 })
	if w := h.list()[0]; w.view.Status != Canceled || w.id != "msg_"+f.batch.ID+"_canceled" {
		t.Fatalf("webhook %+v", w)
	}
	waitFor(t, "the failure recorded", func() bool {
		b, _ := f.store.Get(testCtx(t), "acme", f.batch.ID)
		return b.Webhook == WebhookFailed
	})

	all := newFixture(t, 0, 2, "https://hooks.example/r")
	h2 := &hooks{}
	all.tracker(t, h2, TrackerConfig{})
	waitFor(t, "the rejected batch's webhook", func() bool { return len(h2.list()) == 1 })
	if w := h2.list()[0]; w.view.Counts.Rejected != 2 || w.view.Status != Completed {
		t.Fatalf("webhook %+v", w)
	}
}

// A delivery claimed by a tracker that died is taken over once the claim
// runs out, with the same webhook-id.
func TestTracker_TakesOverAnAbandonedDelivery(t *testing.T) {
	f := newFixture(t, 1, 0, "https://hooks.example/t")
	f.end(t, 0, jobs.Succeeded)
	old := time.Now().UTC().Add(-time.Hour)
	c := Counts{Succeeded: 1}
	f.store.Update(testCtx(t), "acme", f.batch.ID, func(b *Batch) error {
		b.Status, b.FinishedAt, b.Counts, b.Webhook, b.WebhookClaimed = Completed, &old, &c, WebhookPending, &old
		return nil
	})
	h := &hooks{}
	f.tracker(t, h, TrackerConfig{ClaimTimeout: time.Minute})
	waitFor(t, "the takeover", func() bool { return len(h.list()) == 1 })
	if h.list()[0].id != "msg_"+f.batch.ID+"_completed" {
		t.Fatalf("webhook %+v", h.list()[0])
	}
}
