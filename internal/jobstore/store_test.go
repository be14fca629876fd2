package jobstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	"github.com/stickerd/stickerd/internal/jobs"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestStore_CreateGet(t *testing.T) {
	s, ctx := newStore(t), testCtx(t)
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
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"create twice", func() error { _, err := s.Create(ctx, in); return err }, ErrExists},
		{"get missing", func() error { _, err := s.Get(ctx, jobs.NewID()); return err }, ErrNotFound},
		{"get empty id", func() error { _, err := s.Get(ctx, ""); return err }, ErrInvalid},
		{"create id with slash", func() error { _, err := s.Create(ctx, &jobs.Job{ID: "a/b"}); return err }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, tt.want) {
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

func TestStore_CASRefusesStaleRevision(t *testing.T) {
	s, ctx := newStore(t), testCtx(t)
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

func TestStore_UpdateLosesNoConcurrentIncrement(t *testing.T) {
	s, ctx := newStore(t), testCtx(t)
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
	ok := 0
	for err := range errs {
		if err != nil {
			t.Errorf("update: %v", err)
			continue
		}
		ok++
	}
	got, err := s.Get(ctx, j.ID)
	if err != nil || got.Attempts != ok || ok != writers*each {
		t.Fatalf("attempts = %d after %d acknowledged of %d updates (%v)", got.Attempts, ok, writers*each, err)
	}
}

func TestStore_Update(t *testing.T) {
	s, ctx := newStore(t), testCtx(t)
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
		{"missing job", jobs.NewID(), func(*jobs.Job) error { return nil }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Update(ctx, tt.id, tt.fn); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("assign", func(t *testing.T) {
		got, err := s.Update(ctx, j.ID, func(j *jobs.Job) error { return j.Assign("w1", j.Revision, time.Now()) })
		if err != nil || got.Status != jobs.Running || got.Fence != j.Revision || got.Revision <= j.Revision {
			t.Fatalf("assign: %v %+v", err, got)
		}
	})
}

func TestStore_RevisionGrows(t *testing.T) {
	s, ctx := newStore(t), testCtx(t)
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

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"deadline", context.DeadlineExceeded, true},
		{"no leader", rpctypes.ErrNoLeader, true},
		{"grpc no leader", rpctypes.ErrGRPCNoLeader, true},
		{"request timed out", rpctypes.ErrTimeout, true},
		{"connection refused", status.Error(codes.Unavailable, "connection refused"), true},
		{"too many requests", rpctypes.ErrTooManyRequests, true},
		{"canceled by caller", context.Canceled, false},
		{"compacted", rpctypes.ErrCompacted, false},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("op", fmt.Errorf("wrapped: %w", tt.err))
			if got := errors.Is(err, ErrUnavailable); got != tt.want {
				t.Fatalf("unavailable = %v for %v", got, err)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("cause lost: %v", err)
			}
		})
	}
}

func TestStore_UnavailableWhenOnlyMemberStopped(t *testing.T) {
	c := etcdtest.StartCluster(t, 1)
	s := New(c.Client(), "")
	j := mustCreate(t, s, newJob("acme", time.Now()))
	c.Kill(0)
	tests := []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, err := s.Get(ctx, j.ID); return err }},
		{"create", func(ctx context.Context) error { _, err := s.Create(ctx, newJob("acme", time.Now())); return err }},
		{"cas", func(ctx context.Context) error { _, err := s.CAS(ctx, j); return err }},
		{"update", func(ctx context.Context) error {
			_, err := s.Update(ctx, j.ID, func(*jobs.Job) error { return nil })
			return err
		}},
		{"list", func(ctx context.Context) error { _, _, err := s.List(ctx, ListOptions{Tenant: "acme"}); return err }},
		{"scan", func(ctx context.Context) error { return s.Scan(ctx, func(*jobs.Job) error { return nil }) }},
		{"revision", func(ctx context.Context) error { _, err := s.Revision(ctx); return err }},
		{"watch", func(ctx context.Context) error { _, err := s.Watch(ctx, j.ID); return err }},
		{"watch jobs from now", func(ctx context.Context) error { _, err := s.WatchJobs(ctx, 0); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := tt.op(ctx)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s with a 300ms deadline", d)
			}
		})
	}
	t.Run("caller cancel is not unavailability", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if _, err := s.Get(ctx, j.ID); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestStore_ScanQueuedFollowsTheQueue(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
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
