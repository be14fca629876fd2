package scheduler

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
)

// fakeBlobs records deletions; hook, when set, runs before each one and
// may fail it.
type fakeBlobs struct {
	mu      sync.Mutex
	stored  map[string]bool
	deletes int
	hook    func(key string) error
}

func newFakeBlobs(keys ...string) *fakeBlobs {
	b := &fakeBlobs{stored: map[string]bool{}}
	for _, k := range keys {
		b.stored[k] = true
	}
	return b
}

func (b *fakeBlobs) Delete(_ context.Context, key string) error {
	b.mu.Lock()
	hook := b.hook
	b.mu.Unlock()
	if hook != nil {
		if err := hook(key); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deletes++
	delete(b.stored, key)
	return nil
}

func (b *fakeBlobs) has(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stored[key]
}

// fakeAssets is the asset service: records, fenced deletion by the memory
// store's terms.
type fakeAssets struct {
	mu      sync.Mutex
	mem     *jobstore.Memory
	records map[string]AssetRecord // tenant/id
}

func (f *fakeAssets) ScanAssets(_ context.Context, fn func(AssetRecord) error) error {
	f.mu.Lock()
	var all []AssetRecord
	for _, a := range f.records {
		all = append(all, a)
	}
	f.mu.Unlock()
	for _, a := range all {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeAssets) DeleteAsset(ctx context.Context, tenant, id string) error {
	if t, ok := jobstore.TermOf(ctx); ok {
		if valid, _ := f.mem.TermValid(ctx, t); !valid {
			return jobstore.ErrDeposed
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.records, tenant+"/"+id)
	return nil
}

func (f *fakeAssets) FinishAssetDeletions(context.Context) error { return nil }

func (f *fakeAssets) has(tenant, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.records[tenant+"/"+id]
	return ok
}

func retentionCfg(id string) Config {
	c := testCfg(id)
	c.OutputTTL, c.AssetTTL, c.JobTTL = time.Minute, 2*time.Minute, 3*time.Minute
	c.ExpiryInterval = time.Hour // the tests call Expire themselves
	return c
}

// finished records a succeeded job of tenant t1 that finished at end,
// with an output stored under key.
func finished(t *testing.T, mem *jobstore.Memory, id jobs.ID, end time.Time, key string) *jobs.Job {
	t.Helper()
	j, err := mem.Create(context.Background(), &jobs.Job{ID: id, Tenant: "t1", Status: jobs.Succeeded, Priority: jobs.Normal,
		CreatedAt: end.Add(-time.Second), FinishedAt: &end, Spec: []byte(`{}`),
		Output: &jobs.Output{Key: key, Bytes: 1000, Format: "mp4"}})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func mustExpire(t *testing.T, h *harness, ctx context.Context) ExpiryStats {
	t.Helper()
	st, err := h.s.Expire(ctx)
	if err != nil {
		t.Fatalf("expire: %v", err)
	}
	return st
}

// Outputs, uploads and job records leave after their TTLs on the
// scheduler's clock; an upload that a running job uses stays until the job
// ends.
func TestExpiry_OutputsAssetsAndJobRecords(t *testing.T) {
	mem, clk := shared()
	blobs := newFakeBlobs("outputs/t1/job_a-5.mp4")
	as := &fakeAssets{mem: mem, records: map[string]AssetRecord{
		"t1/ast_old":   {Tenant: "t1", ID: "ast_old", Bytes: 10, CreatedAt: t0},
		"t1/ast_inuse": {Tenant: "t1", ID: "ast_inuse", Bytes: 20, CreatedAt: t0},
		"t1/ast_new":   {Tenant: "t1", ID: "ast_new", Bytes: 30, CreatedAt: t0.Add(2 * time.Minute)},
	}}
	h := newHarnessDeps(t, retentionCfg("a"), Deps{Store: mem, Clock: clk, Blobs: blobs, Assets: as})
	ctx := jobstore.WithTerm(h.ctx, mem.Elect("leader"))
	finished(t, mem, "job_a", t0, "outputs/t1/job_a-5.mp4")
	running, err := mem.Create(h.ctx, &jobs.Job{ID: "job_b", Tenant: "t1", Status: jobs.Running, Priority: jobs.Normal,
		CreatedAt: t0, Spec: []byte(`{"stickers":[{"type":"image","asset_id":"ast_inuse"}]}`)})
	if err != nil {
		t.Fatal(err)
	}

	st := mustExpire(t, h, ctx)
	if st.OutputsExpired+st.AssetsExpired+st.JobsExpired != 0 || st.Outputs != 1 || st.Assets != 3 || st.Jobs != 2 || st.OutputBytes != 1000 || st.AssetBytes != 60 {
		t.Fatalf("at t0 nothing expires: %+v", st)
	}

	h.advanceTo(t0.Add(time.Minute))
	st = mustExpire(t, h, ctx)
	a := h.job("job_a")
	if st.OutputsExpired != 1 || st.Outputs != 0 || a.OutputDeletedAt == nil || !a.OutputDeletedAt.Equal(t0.Add(time.Minute)) ||
		a.Output.Key != "" || blobs.has("outputs/t1/job_a-5.mp4") || a.Term == 0 {
		t.Fatalf("output past its TTL: %+v, record %+v output %+v", st, a, a.Output)
	}

	h.advanceTo(t0.Add(2 * time.Minute))
	st = mustExpire(t, h, ctx)
	if st.AssetsExpired != 1 || st.AssetsKeptInUse != 1 || as.has("t1", "ast_old") || !as.has("t1", "ast_inuse") || !as.has("t1", "ast_new") {
		t.Fatalf("assets at 2m: %+v", st)
	}
	if _, err := mem.UpdateFrom(h.ctx, running, func(j *jobs.Job) error {
		at := clk.Now()
		j.Status, j.FinishedAt = jobs.Failed, &at
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st = mustExpire(t, h, ctx)
	if st.AssetsExpired != 1 || as.has("t1", "ast_inuse") || !as.has("t1", "ast_new") {
		t.Fatalf("the upload of a job that ended: %+v", st)
	}

	h.advanceTo(t0.Add(3 * time.Minute))
	st = mustExpire(t, h, ctx)
	if st.JobsExpired != 1 || st.Jobs != 1 {
		t.Fatalf("job records at 3m: %+v", st)
	}
	if _, err := mem.Get(h.ctx, "job_a"); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("job_a's record is still there: %v", err)
	}
	if _, err := mem.Get(h.ctx, "job_b"); err != nil {
		t.Fatalf("job_b (ended at 2m) went early: %v", err)
	}
	st = mustExpire(t, h, ctx)
	if st.OutputsExpired+st.AssetsExpired+st.JobsExpired+st.OutputsFinished != 0 {
		t.Fatalf("a second sweep did something again: %+v", st)
	}
}

// A job record past its TTL whose output is still stored loses the output
// first; with a TTL of 0 nothing of that kind expires.
func TestExpiry_JobTTLTakesTheOutputAndZeroKeepsForever(t *testing.T) {
	mem, clk := shared()
	blobs := newFakeBlobs("outputs/t1/job_c-3.mp4")
	cfg := retentionCfg("a")
	cfg.OutputTTL, cfg.AssetTTL, cfg.JobTTL = 0, 0, time.Minute
	as := &fakeAssets{mem: mem, records: map[string]AssetRecord{"t1/ast_x": {Tenant: "t1", ID: "ast_x", CreatedAt: t0}}}
	h := newHarnessDeps(t, cfg, Deps{Store: mem, Clock: clk, Blobs: blobs, Assets: as})
	ctx := jobstore.WithTerm(h.ctx, mem.Elect("leader"))
	finished(t, mem, "job_c", t0, "outputs/t1/job_c-3.mp4")
	h.advanceTo(t0.Add(1000 * time.Hour))
	st := mustExpire(t, h, ctx)
	if st.JobsExpired != 1 || st.AssetsExpired != 0 || !as.has("t1", "ast_x") || blobs.has("outputs/t1/job_c-3.mp4") {
		t.Fatalf("%+v", st)
	}
}

// Two replicas on one store: the leader marks an output and loses its term
// before the file is deleted (a leader change mid-sweep). Its later writes
// are refused; the new leader finishes the deletion once, without counting
// it again, and expires the job record.
func TestExpiry_LeaderChangeMidSweepIsFinished(t *testing.T) {
	mem, clk := shared()
	blobs := newFakeBlobs("outputs/t1/job_a-5.mp4", "outputs/t1/job_b-6.mp4")
	as := &fakeAssets{mem: mem, records: map[string]AssetRecord{"t1/ast_old": {Tenant: "t1", ID: "ast_old", CreatedAt: t0}}}
	ha := newHarnessDeps(t, retentionCfg("a"), Deps{Store: mem, Clock: clk, Blobs: blobs, Assets: as})
	hb := newHarnessDeps(t, retentionCfg("b"), Deps{Store: mem, Clock: clk, Blobs: blobs, Assets: as})
	actx := jobstore.WithTerm(ha.ctx, mem.Elect("leader"))
	finished(t, mem, "job_a", t0, "outputs/t1/job_a-5.mp4")
	finished(t, mem, "job_b", t0, "outputs/t1/job_b-6.mp4")
	var bctx context.Context
	blobs.hook = func(string) error {
		// The first file deletion: leadership moves to b, and a's
		// process stops here.
		blobs.hook = nil
		bctx = jobstore.WithTerm(hb.ctx, mem.Elect("leader"))
		return errors.New("replica a stopped")
	}
	ha.advanceTo(t0.Add(time.Minute))
	if _, err := ha.s.Expire(actx); err == nil {
		t.Fatal("the cut-short sweep reported no error")
	}
	marked := 0
	for _, id := range []jobs.ID{"job_a", "job_b"} {
		if j := ha.job(id); j.OutputDeletedAt != nil {
			marked++
			if j.Output.Key == "" {
				t.Fatalf("%s: key cleared before its file was deleted", id)
			}
		}
	}
	if marked != 1 {
		t.Fatalf("%d outputs marked by a, want 1 (a stopped at the first file)", marked)
	}
	// a, deposed, changes nothing more.
	ha.advanceTo(t0.Add(10 * time.Minute))
	if _, err := ha.s.Expire(actx); !errors.Is(err, jobstore.ErrDeposed) {
		t.Fatalf("a deposed replica's sweep: %v, want ErrDeposed", err)
	}
	if !as.has("t1", "ast_old") {
		t.Fatal("a deposed replica deleted an asset")
	}
	for _, id := range []jobs.ID{"job_a", "job_b"} {
		if _, err := mem.Get(ha.ctx, id); err != nil {
			t.Fatalf("a deposed replica deleted %s: %v", id, err)
		}
	}
	// b finishes: both files, the asset, and (past the job TTL) the records.
	st, err := hb.s.Expire(bctx)
	if err != nil {
		t.Fatal(err)
	}
	if blobs.has("outputs/t1/job_a-5.mp4") || blobs.has("outputs/t1/job_b-6.mp4") || as.has("t1", "ast_old") || st.JobsExpired != 2 {
		t.Fatalf("b's sweep: %+v", st)
	}
	if st, err = hb.s.Expire(bctx); err != nil || st.JobsExpired+st.OutputsExpired+st.AssetsExpired+st.OutputsFinished != 0 || st.Jobs != 0 {
		t.Fatalf("b's second sweep: %+v %v", st, err)
	}
}

// A marked output whose file was not deleted (a gateway's DELETE or a
// leader cut short) is finished by the next sweep, before its TTL.
func TestExpiry_FinishesMarkedOutputs(t *testing.T) {
	mem, clk := shared()
	blobs := newFakeBlobs("outputs/t1/job_m-2.mp4")
	h := newHarnessDeps(t, retentionCfg("a"), Deps{Store: mem, Clock: clk, Blobs: blobs})
	ctx := jobstore.WithTerm(h.ctx, mem.Elect("leader"))
	j := finished(t, mem, "job_m", t0, "outputs/t1/job_m-2.mp4")
	if _, err := mem.UpdateFrom(h.ctx, j, func(j *jobs.Job) error { at := t0; j.OutputDeletedAt = &at; return nil }); err != nil {
		t.Fatal(err)
	}
	st := mustExpire(t, h, ctx)
	if st.OutputsFinished != 1 || st.Outputs != 0 || blobs.has("outputs/t1/job_m-2.mp4") || h.job("job_m").Output.Key != "" {
		t.Fatalf("%+v", st)
	}
}

// The loop runs on the leader's clock: advancing it past ExpiryInterval
// sweeps.
func TestExpiry_LoopRunsOnTheLeadersClock(t *testing.T) {
	mem, clk := shared()
	blobs := newFakeBlobs("outputs/t1/job_l-1.mp4")
	cfg := retentionCfg("a")
	cfg.ExpiryInterval = 30 * time.Second
	h := newHarnessDeps(t, cfg, Deps{Store: mem, Clock: clk, Blobs: blobs})
	finished(t, mem, "job_l", t0.Add(-time.Hour), "outputs/t1/job_l-1.mp4")
	h.leadWith(jobstore.WithTerm(h.ctx, mem.Elect("leader")))
	h.waitTimerAt(t0.Add(30 * time.Second))
	h.advanceTo(t0.Add(30 * time.Second))
	deadline := time.Now().Add(wait)
	for blobs.has("outputs/t1/job_l-1.mp4") {
		if time.Now().After(deadline) {
			t.Fatal("no sweep after ExpiryInterval")
		}
		time.Sleep(time.Millisecond)
	}
}
