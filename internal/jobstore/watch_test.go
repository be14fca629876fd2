package jobstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// lifecycle takes a queued job through running (with progress ticks) to
// succeeded.
func lifecycle(ctx context.Context, s *Store, id jobs.ID, ticks int) error {
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

func TestStore_WatchDeliversStatusChangesInOrder(t *testing.T) {
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
			s := newStore(t)
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

func TestStore_WatchEnds(t *testing.T) {
	s := newStore(t)
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

func TestQueue_KeepsEveryStatusChange(t *testing.T) {
	var pending []*jobs.Job
	for i, st := range []jobs.Status{jobs.Queued, jobs.Running, jobs.Running, jobs.Running, jobs.Queued, jobs.Running, jobs.Failed} {
		pending = queue(pending, &jobs.Job{Status: st, Revision: int64(i)})
	}
	var revs []int64
	for _, j := range pending {
		revs = append(revs, j.Revision)
	}
	if !slices.Equal(revs, []int64{0, 3, 4, 5, 6}) {
		t.Fatalf("kept revisions %v", revs)
	}
}

func TestStore_WatchJobsFromRevision(t *testing.T) {
	s := newStore(t)
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
	b := mustCreate(t, s, newJob("acme", time.Now()))
	a2, err := s.Update(ctx, a.ID, func(j *jobs.Job) error { return j.Cancel(time.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	want := []*jobs.Job{a, b, a2}
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
	t.Run("compacted history resyncs", func(t *testing.T) {
		rev, _ := s.Revision(ctx)
		if _, err := s.cli.Compact(ctx, rev); err != nil {
			t.Fatal(err)
		}
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
		if got[a.ID] != a2.Revision || got[b.ID] != b.Revision {
			t.Fatalf("resync %v, want %s@%d %s@%d", got, a.ID, a2.Revision, b.ID, b.Revision)
		}
	})
}
