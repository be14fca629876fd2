package jobstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// deleter is the contract's deletion, which both stores have.
type deleter interface {
	contract
	Delete(ctx context.Context, j *jobs.Job) error
}

var (
	_ deleter = (*Store)(nil)
	_ deleter = (*Memory)(nil)
)

// TestContract_Delete: a deletion removes the record, its index entry and
// its queued marker at once, only from the revision it was based on, and
// watchers see it; a second deletion is ErrNotFound.
func TestContract_Delete(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.new(t).(deleter)
			ctx := testCtx(t)
			from, err := s.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			keep := mustCreate(t, s, newJob("acme", time.Now().UTC()))
			j := mustCreate(t, s, newJob("acme", time.Now().UTC().Add(time.Second)))
			watch, err := s.Watch(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			events, err := s.WatchJobs(ctx, from+1)
			if err != nil {
				t.Fatal(err)
			}
			stale := j.Clone()
			if j, err = s.Update(ctx, j.ID, func(j *jobs.Job) error { j.Progress = 0.5; return nil }); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, stale); !errors.Is(err, ErrConflict) {
				t.Fatalf("delete from a stale revision: %v, want ErrConflict", err)
			}
			if err := s.Delete(ctx, &jobs.Job{ID: j.ID}); !errors.Is(err, ErrConflict) {
				t.Fatalf("delete without a revision: %v, want ErrConflict", err)
			}
			if err := s.Delete(ctx, j); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, j.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get after delete: %v", err)
			}
			if err := s.Delete(ctx, j); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second delete: %v, want ErrNotFound", err)
			}
			list, _, err := s.List(ctx, ListOptions{Tenant: "acme"})
			if err != nil || len(list) != 1 || list[0].ID != keep.ID {
				t.Fatalf("list after delete: %v %v", list, err)
			}
			var queued []jobs.ID
			if err := s.ScanQueued(ctx, func(q *jobs.Job) error { queued = append(queued, q.ID); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(queued) != 1 || queued[0] != keep.ID {
				t.Fatalf("queued after delete: %v", queued)
			}
			// Watch of the job ends at the deletion.
			drain(t, watch, 10*time.Second)
			// WatchJobs tells of the deletion, after the job's writes.
			deadline := time.After(10 * time.Second)
			for {
				select {
				case e := <-events:
					if e.Job == nil || e.Job.ID != j.ID || !e.Deleted {
						continue
					}
					if e.Job.Revision <= j.Revision {
						t.Fatalf("deletion at revision %d, before the last write %d", e.Job.Revision, j.Revision)
					}
					return
				case <-deadline:
					t.Fatal("WatchJobs sent no deletion")
				}
			}
		})
	}
}

// TestTerm_FencesDelete: a deletion made under an ended term is refused
// and deletes nothing.
func TestTerm_FencesDelete(t *testing.T) {
	for _, b := range termBackends {
		t.Run(b.name, func(t *testing.T) {
			s := b.store(t).(deleter)
			ctx := testCtx(t)
			term, end := b.elect(t, s, "delete")
			lctx := WithTerm(ctx, term)
			a := mustCreate(t, s, newJob("acme", time.Now().UTC()))
			c := mustCreate(t, s, newJob("acme", time.Now().UTC()))
			if err := s.Delete(lctx, a); err != nil {
				t.Fatalf("delete during the term: %v", err)
			}
			end()
			if err := s.Delete(lctx, c); !errors.Is(err, ErrDeposed) {
				t.Fatalf("delete after the term: %v, want ErrDeposed", err)
			}
			if _, err := s.Get(ctx, c.ID); err != nil {
				t.Fatalf("a deposed leader's deletion took effect: %v", err)
			}
		})
	}
}
