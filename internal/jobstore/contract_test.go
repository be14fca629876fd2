package jobstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// contract is what both stores promise; every behaviour below runs against
// the etcd Store and the Memory twin, so the twin cannot drift.
type contract interface {
	Create(ctx context.Context, j *jobs.Job) (*jobs.Job, error)
	Get(ctx context.Context, id jobs.ID) (*jobs.Job, error)
	CAS(ctx context.Context, j *jobs.Job) (*jobs.Job, error)
	Update(ctx context.Context, id jobs.ID, fn func(*jobs.Job) error) (*jobs.Job, error)
	UpdateFrom(ctx context.Context, known *jobs.Job, fn func(*jobs.Job) error) (*jobs.Job, error)
	Revision(ctx context.Context) (int64, error)
	Scan(ctx context.Context, fn func(*jobs.Job) error) error
	ScanQueued(ctx context.Context, fn func(*jobs.Job) error) error
	List(ctx context.Context, o ListOptions) ([]*jobs.Job, string, error)
	Watch(ctx context.Context, id jobs.ID) (<-chan *jobs.Job, error)
	WatchJobs(ctx context.Context, fromRevision int64) (<-chan Event, error)
}

var (
	_ contract = (*Store)(nil)
	_ contract = (*Memory)(nil)
)

// backend makes an empty store of one kind for a test, and reaches the
// knobs the behaviours need.
type backend struct {
	name string
	new  func(t *testing.T) contract
	// compact drops the history, so that a watch from an old revision
	// must resync.
	compact func(t *testing.T, s contract)
	// small returns a view of s that reads pages of scanPage records (etcd
	// only; Memory has no pages) and at most listScan index entries per List.
	small func(s contract, scanPage, listScan int) contract
}

var backends = []backend{
	{
		name: "etcd",
		new:  func(t *testing.T) contract { return newStore(t) },
		compact: func(t *testing.T, s contract) {
			ctx := testCtx(t)
			rev, err := s.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.(*Store).cli.Compact(ctx, rev); err != nil {
				t.Fatal(err)
			}
		},
		small: func(s contract, scanPage, listScan int) contract {
			c := *s.(*Store)
			c.scanPageSize, c.listScanLimit = scanPage, listScan
			return &c
		},
	},
	{
		name:    "memory",
		new:     func(*testing.T) contract { return NewMemory() },
		compact: func(_ *testing.T, s contract) { s.(*Memory).Compact() },
		small: func(s contract, _, listScan int) contract {
			m := s.(*Memory)
			m.mu.Lock()
			m.listScanLimit = listScan
			m.mu.Unlock()
			return m
		},
	},
}

// TestContract runs every behaviour of the store contract against both
// stores.
func TestContract(t *testing.T) {
	behaviours := []struct {
		name string
		run  func(t *testing.T, b backend, s contract)
	}{
		{"create and get", createGet},
		{"CAS refuses a stale revision", casRefusesStaleRevision},
		{"update loses no concurrent increment", updateLosesNoConcurrentIncrement},
		{"update", updateCases},
		{"update from a known record", updateFrom},
		{"revision grows", revisionGrows},
		{"scan queued follows the queue", scanQueuedFollowsTheQueue},
		{"list pages newest first", listPagesNewestFirst},
		{"scan visits every job once", scanVisitsEveryJobOnce},
		{"watch delivers status changes in order", watchDeliversStatusChangesInOrder},
		{"watch ends", watchEnds},
		{"watch jobs from a revision", watchJobsFromRevision},
		{"canceled context", canceledContext},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, bh := range behaviours {
				t.Run(bh.name, func(t *testing.T) { bh.run(t, b, b.new(t)) })
			}
		})
	}
}

func createGet(t *testing.T, _ backend, s contract) {
	ctx := testCtx(t)
	in := newJob("acme", time.Now().UTC())
	got := mustCreate(t, s, in)
	if got.Revision <= 0 || in.Revision != 0 {
		t.Fatalf("revision: created %d, input %d", got.Revision, in.Revision)
	}
	read, err := s.Get(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if read.Revision != got.Revision || read.Tenant != "acme" || read.Metadata["k"] != "v" || string(read.Spec) != `{"w":640}` || !read.CreatedAt.Equal(in.CreatedAt) {
		t.Fatalf("read back %+v", read)
	}
	read.Metadata["k"] = "changed by the caller"
	if again, _ := s.Get(ctx, in.ID); again.Metadata["k"] != "v" {
		t.Fatal("a caller's change to a read record reached the store")
	}
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"create twice", func() error { _, err := s.Create(ctx, in); return err }, ErrExists},
		{"get missing", func() error { _, err := s.Get(ctx, jobs.NewID()); return err }, ErrNotFound},
		{"get empty id", func() error { _, err := s.Get(ctx, ""); return err }, ErrInvalid},
		{"create id with slash", func() error { _, err := s.Create(ctx, &jobs.Job{ID: "a/b"}); return err }, ErrInvalid},
		{"spec that is not JSON", func() error {
			j := newJob("acme", time.Now())
			j.Spec = []byte("{")
			_, err := s.Create(ctx, j)
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), "encode") {
					t.Fatalf("err = %v, want an encoding error", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("zero created at is set", func(t *testing.T) {
		c := mustCreate(t, s, &jobs.Job{ID: jobs.NewID(), Tenant: "acme", Status: jobs.Queued})
		if time.Since(c.CreatedAt) > time.Minute {
			t.Fatalf("CreatedAt = %v", c.CreatedAt)
		}
	})
}

func casRefusesStaleRevision(t *testing.T, _ backend, s contract) {
	ctx := testCtx(t)
	first := mustCreate(t, s, newJob("acme", time.Now()))
	second := first.Clone()
	second.Progress = 0.5
	second, err := s.CAS(ctx, second)
	if err != nil || second.Revision <= first.Revision {
		t.Fatalf("CAS on the current revision: %v (revision %d → %v)", err, first.Revision, second)
	}
	tests := []struct {
		name string
		job  func() *jobs.Job
		want error
	}{
		{"stale revision", func() *jobs.Job { return first.Clone() }, ErrConflict},
		{"no revision", func() *jobs.Job { j := second.Clone(); j.Revision = 0; return j }, ErrConflict},
		{"future revision", func() *jobs.Job { j := second.Clone(); j.Revision += 1000; return j }, ErrConflict},
		{"missing job", func() *jobs.Job { j := second.Clone(); j.ID = jobs.NewID(); return j }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.CAS(ctx, tt.job()); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if now, _ := s.Get(ctx, first.ID); now.Revision != second.Revision || now.Progress != 0.5 {
		t.Fatalf("a refused CAS changed the record: %+v", now)
	}
}

func updateLosesNoConcurrentIncrement(t *testing.T, _ backend, s contract) {
	ctx := testCtx(t)
	j := mustCreate(t, s, newJob("acme", time.Now()))
	const writers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				_, err := s.Update(ctx, j.ID, func(j *jobs.Job) error { j.Attempts++; return nil })
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	// Giving up after updateTries under contention is the documented
	// answer (ErrConflict, nothing written), and a loaded machine reaches
	// it now and then; what must never happen is an acknowledged
	// increment that is lost, or one that was refused but counted.
	ok, gaveUp := 0, 0
	for err := range errs {
		switch {
		case errors.Is(err, ErrConflict):
			gaveUp++
		case err != nil:
			t.Errorf("update: %v", err)
		default:
			ok++
		}
	}
	got, err := s.Get(ctx, j.ID)
	if err != nil || got.Attempts != ok || gaveUp > writers*each/10 {
		t.Fatalf("attempts = %d after %d acknowledged, %d given up of %d updates (%v)", got.Attempts, ok, gaveUp, writers*each, err)
	}
}

func updateCases(t *testing.T, _ backend, s contract) {
	ctx := testCtx(t)
	j := mustCreate(t, s, newJob("acme", time.Now()))
	errFn := errors.New("refused by fn")
	tests := []struct {
		name string
		id   jobs.ID
		fn   func(*jobs.Job) error
		want error
	}{
		{"fn error returned as is", j.ID, func(*jobs.Job) error { return errFn }, errFn},
		{"state machine refusal", j.ID, func(j *jobs.Job) error { return j.Succeed(1, jobs.Output{}, time.Now()) }, jobs.ErrStaleFence},
		{"tenant change refused", j.ID, func(j *jobs.Job) error { j.Tenant = "other"; return nil }, ErrInvalid},
		{"creation time change refused", j.ID, func(j *jobs.Job) error { j.CreatedAt = j.CreatedAt.Add(time.Second); return nil }, ErrInvalid},
		{"missing job", jobs.NewID(), func(*jobs.Job) error { return nil }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Update(ctx, tt.id, tt.fn); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if now, _ := s.Get(ctx, j.ID); now.Revision != j.Revision {
		t.Fatalf("a refused update wrote: revision %d → %d", j.Revision, now.Revision)
	}
	t.Run("assign", func(t *testing.T) {
		got, err := s.Update(ctx, j.ID, func(j *jobs.Job) error { return j.Assign("w1", j.Revision, time.Now()) })
		if err != nil || got.Status != jobs.Running || got.Fence != j.Revision || got.Revision <= j.Revision {
			t.Fatalf("assign: %v %+v", err, got)
		}
	})
}

func updateFrom(t *testing.T, _ backend, s contract) {
	ctx := testCtx(t)
	j := mustCreate(t, s, newJob("acme", time.Now()))
	if _, err := s.UpdateFrom(ctx, nil, func(*jobs.Job) error { return nil }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("UpdateFrom(nil): %v", err)
	}
	if _, err := s.UpdateFrom(ctx, &jobs.Job{ID: j.ID}, func(*jobs.Job) error { return nil }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("UpdateFrom without a revision: %v", err)
	}
	cur, err := s.UpdateFrom(ctx, j, func(j *jobs.Job) error { j.Progress = 0.25; return nil })
	if err != nil || cur.Progress != 0.25 || cur.Revision <= j.Revision {
		t.Fatalf("from the current record: %v %+v", err, cur)
	}
	// From the now stale j: the compare-and-swap fails, the record is read
	// again and fn runs on it.
	var saw float64
	got, err := s.UpdateFrom(ctx, j, func(j *jobs.Job) error { saw = j.Progress; j.Attempts = 7; return nil })
	if err != nil || saw != 0.25 || got.Attempts != 7 || got.Progress != 0.25 {
		t.Fatalf("from a stale record: %v, fn saw progress %v, got %+v", err, saw, got)
	}
}

func revisionGrows(t *testing.T, _ backend, s contract) {
	ctx := testCtx(t)
	before, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j := mustCreate(t, s, newJob("acme", time.Now()))
	after, err := s.Revision(ctx)
	if err != nil || after < j.Revision || j.Revision <= before {
		t.Fatalf("revision %d, job at %d, then %d (%v)", before, j.Revision, after, err)
	}
}

func scanQueuedFollowsTheQueue(t *testing.T, _ backend, s contract) {
	ctx := testCtx(t)
	a := mustCreate(t, s, newJob("t1", time.Now()))
	b := mustCreate(t, s, newJob("t1", time.Now()))
	if _, err := s.Update(ctx, b.ID, func(j *jobs.Job) error { return j.Assign("w", j.Revision, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	var got []jobs.ID
	if err := s.ScanQueued(ctx, func(j *jobs.Job) error { got = append(got, j.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != a.ID {
		t.Fatalf("queued %v, want only %s", got, a.ID)
	}
	if _, err := s.Update(ctx, b.ID, func(j *jobs.Job) error {
		return j.Requeue(jobs.Error{Code: "WORKER_LOST"}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	got = nil
	s.ScanQueued(ctx, func(j *jobs.Job) error { got = append(got, j.ID); return nil })
	if len(got) != 2 {
		t.Fatalf("a requeued job is missing from the queued index: %v", got)
	}
}

// seed creates n jobs of tenant, one second apart, and returns their ids
// newest first; every third one is running.
func seed(t *testing.T, s contract, tenant string, n int) (all, running []jobs.ID) {
	t.Helper()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		j := newJob(tenant, base.Add(time.Duration(i)*time.Second))
		if i%3 == 0 {
			j.Status = jobs.Running
			running = append(running, j.ID)
		}
		mustCreate(t, s, j)
		all = append(all, j.ID)
	}
	slices.Reverse(all)
	slices.Reverse(running)
	return all, running
}

// listAll follows the cursors and returns the ids and page sizes.
func listAll(t *testing.T, s contract, o ListOptions) (ids []jobs.ID, pages []int) {
	t.Helper()
	for {
		page, next, err := s.List(testCtx(t), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			if j.Tenant != o.Tenant || (o.Status != "" && j.Status != o.Status) || j.Revision == 0 {
				t.Fatalf("listed %+v for %+v", j, o)
			}
			ids = append(ids, j.ID)
		}
		pages = append(pages, len(page))
		if next == "" {
			return ids, pages
		}
		if len(pages) > 100 {
			t.Fatal("cursor never ends")
		}
		o.Cursor = next
	}
}

func listPagesNewestFirst(t *testing.T, b backend, s contract) {
	acme, acmeRunning := seed(t, s, "acme", 45)
	other, _ := seed(t, s, "acme/jobs", 4) // would share acme's index prefix unescaped
	few, _ := seed(t, s, "few", 20)
	tests := []struct {
		name      string
		opts      ListOptions
		wantIDs   []jobs.ID
		wantPages []int
	}{
		{"default limit", ListOptions{Tenant: "acme"}, acme, []int{20, 20, 5}},
		{"limit 7", ListOptions{Tenant: "acme", Limit: 7}, acme, []int{7, 7, 7, 7, 7, 7, 3}},
		{"limit above max", ListOptions{Tenant: "acme", Limit: 1000}, acme, []int{45}},
		{"status filter", ListOptions{Tenant: "acme", Status: jobs.Running, Limit: 4}, acmeRunning, []int{4, 4, 4, 3}},
		{"tenant isolation", ListOptions{Tenant: "acme/jobs"}, other, []int{4}},
		{"exact page ends", ListOptions{Tenant: "few"}, few, []int{20}},
		{"no jobs", ListOptions{Tenant: "nobody"}, nil, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, pages := listAll(t, s, tt.opts)
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("ids = %v\nwant %v", ids, tt.wantIDs)
			}
			if !slices.Equal(pages, tt.wantPages) {
				t.Errorf("pages = %v, want %v", pages, tt.wantPages)
			}
		})
	}
	t.Run("bad cursor", func(t *testing.T) {
		for _, c := range []string{"!!", encodeCursor("../x"), encodeCursor("123_x")} {
			if _, _, err := s.List(testCtx(t), ListOptions{Tenant: "acme", Cursor: c}); !errors.Is(err, ErrInvalid) {
				t.Errorf("cursor %q: err = %v", c, err)
			}
		}
	})
	t.Run("scan limit bounds a filtered page", func(t *testing.T) {
		small := b.small(s, scanPageSize, 10)
		ids, pages := listAll(t, small, ListOptions{Tenant: "acme", Status: jobs.Running, Limit: 100})
		if !slices.Equal(ids, acmeRunning) || len(pages) != 5 {
			t.Fatalf("ids %v pages %v", ids, pages)
		}
	})
}

func scanVisitsEveryJobOnce(t *testing.T, b backend, s contract) {
	s = b.small(s, 7, listScanLimit)
	a, _ := seed(t, s, "a", 12)
	bs, _ := seed(t, s, "b", 11)
	want := append(a, bs...)
	slices.Sort(want)
	var got []jobs.ID
	if err := s.Scan(testCtx(t), func(j *jobs.Job) error { got = append(got, j.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("scan visited %d in order %v\nwant %v", len(got), got, want)
	}
	stop := errors.New("stop")
	n := 0
	err := s.Scan(testCtx(t), func(*jobs.Job) error {
		if n++; n == 9 {
			return stop
		}
		return nil
	})
	if err != stop || n != 9 {
		t.Fatalf("scan after fn error: %v after %d", err, n)
	}
}

// lifecycle takes a queued job through running (with progress ticks) to
// succeeded.
func lifecycle(ctx context.Context, s contract, id jobs.ID, ticks int) error {
	run, err := s.Update(ctx, id, func(j *jobs.Job) error { return j.Assign("w1", 42, time.Now()) })
	if err != nil {
		return err
	}
	for i := range ticks {
		if _, err := s.Update(ctx, id, func(j *jobs.Job) error { j.Progress = float64(i+1) / float64(ticks+1); return nil }); err != nil {
			return err
		}
	}
	_, err = s.Update(ctx, id, func(j *jobs.Job) error { return j.Succeed(run.Fence, jobs.Output{Bytes: 1}, time.Now()) })
	return err
}

// statuses is the status sequence with repeats collapsed.
func statuses(js []*jobs.Job) []jobs.Status {
	var out []jobs.Status
	for _, j := range js {
		if len(out) == 0 || out[len(out)-1] != j.Status {
			out = append(out, j.Status)
		}
	}
	return out
}

func watchDeliversStatusChangesInOrder(t *testing.T, _ backend, s contract) {
	want := []jobs.Status{jobs.Queued, jobs.Running, jobs.Succeeded}
	tests := []struct {
		name string
		// readDelay holds the reader back, so that changes queue up.
		readDelay time.Duration
	}{
		{"prompt reader", 0},
		{"slow reader", 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustCreate(t, s, newJob("acme", time.Now()))
			ch, err := s.Watch(testCtx(t), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			const ticks = 20
			done := make(chan error, 1)
			go func() { done <- lifecycle(testCtx(t), s, j.ID, ticks) }()
			time.Sleep(tt.readDelay)
			got := drain(t, ch, 10*time.Second)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(statuses(got), want) || got[0].Revision != j.Revision {
				t.Fatalf("statuses %v (first at %d), want %v from %d", statuses(got), got[0].Revision, want, j.Revision)
			}
			if last := got[len(got)-1]; last.Output == nil || last.Progress != 1 {
				t.Fatalf("last record %+v", last)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Revision <= got[i-1].Revision {
					t.Fatalf("revisions out of order: %d then %d", got[i-1].Revision, got[i].Revision)
				}
			}
			if tt.readDelay > 0 && len(got) >= ticks+3 {
				t.Errorf("a slow reader got all %d records; progress ticks were not coalesced", len(got))
			}
		})
	}
}

func watchEnds(t *testing.T, _ backend, s contract) {
	t.Run("missing job", func(t *testing.T) {
		if _, err := s.Watch(testCtx(t), jobs.NewID()); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("terminal job sends one record", func(t *testing.T) {
		j := newJob("acme", time.Now())
		j.Status = jobs.Canceled
		mustCreate(t, s, j)
		ch, err := s.Watch(testCtx(t), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := drain(t, ch, 5*time.Second); len(got) != 1 || got[0].Status != jobs.Canceled {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("context end closes", func(t *testing.T) {
		j := mustCreate(t, s, newJob("acme", time.Now()))
		ctx, cancel := context.WithCancel(testCtx(t))
		ch, err := s.Watch(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if first := <-ch; first.ID != j.ID {
			t.Fatalf("first %+v", first)
		}
		cancel()
		if got := drain(t, ch, 5*time.Second); len(got) != 0 {
			t.Fatalf("after cancel got %v", got)
		}
	})
}

func watchJobsFromRevision(t *testing.T, b backend, s contract) {
	ctx := testCtx(t)
	from, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nowCh, err := s.WatchJobs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := mustCreate(t, s, newJob("acme", time.Now()))
	bj := mustCreate(t, s, newJob("acme", time.Now()))
	a2, err := s.Update(ctx, a.ID, func(j *jobs.Job) error { return j.Cancel(time.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	want := []*jobs.Job{a, bj, a2}
	check := func(t *testing.T, ch <-chan Event) {
		for i, w := range want {
			select {
			case e := <-ch:
				if e.Deleted || e.Job.ID != w.ID || e.Job.Revision != w.Revision || e.Job.Status != w.Status {
					t.Fatalf("event %d = %+v, want %s at %d", i, e.Job, w.ID, w.Revision)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("event %d never came", i)
			}
		}
	}
	t.Run("from now", func(t *testing.T) { check(t, nowCh) })
	t.Run("from a past revision", func(t *testing.T) {
		ch, err := s.WatchJobs(ctx, from+1)
		if err != nil {
			t.Fatal(err)
		}
		check(t, ch)
	})
	t.Run("context end closes", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		ch, err := s.WatchJobs(cctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if got := drain(t, ch, 5*time.Second); len(got) != 0 {
			t.Fatalf("after cancel got %v", got)
		}
	})
	t.Run("compacted history resyncs", func(t *testing.T) {
		b.compact(t, s)
		ch, err := s.WatchJobs(ctx, from+1)
		if err != nil {
			t.Fatal(err)
		}
		got := map[jobs.ID]int64{}
		for len(got) < 2 {
			select {
			case e := <-ch:
				got[e.Job.ID] = e.Job.Revision
			case <-time.After(5 * time.Second):
				t.Fatalf("resync sent only %v", got)
			}
		}
		if got[a.ID] != a2.Revision || got[bj.ID] != bj.Revision {
			t.Fatalf("resync %v, want %s@%d %s@%d", got, a.ID, a2.Revision, bj.ID, bj.Revision)
		}
		// And then the changes after it.
		c := mustCreate(t, s, newJob("acme", time.Now()))
		select {
		case e := <-ch:
			if e.Job.ID != c.ID || e.Job.Revision != c.Revision {
				t.Fatalf("after the resync: %+v, want %s@%d", e.Job, c.ID, c.Revision)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no change after the resync")
		}
	})
}

func canceledContext(t *testing.T, _ backend, s contract) {
	j := mustCreate(t, s, newJob("acme", time.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ops := map[string]func() error{
		"get":    func() error { _, err := s.Get(ctx, j.ID); return err },
		"create": func() error { _, err := s.Create(ctx, newJob("acme", time.Now())); return err },
		"update": func() error { _, err := s.Update(ctx, j.ID, func(*jobs.Job) error { return nil }); return err },
		"scan":   func() error { return s.Scan(ctx, func(*jobs.Job) error { return nil }) },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with a canceled context: %v", name, err)
		}
	}
}
