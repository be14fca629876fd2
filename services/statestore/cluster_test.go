package statestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/services/jobs"
	"github.com/stickerd/stickerd/services/kv/kvtest"
)

var errSkip = errors.New("nothing to do")

// worker drives jobs through the state machine the way the gateway, the
// scheduler and render workers do, and records every acknowledged write.
type worker struct {
	name  string
	store *Store
	mine  map[jobs.ID]int64 // fences of this worker's acknowledged assignments
	acked []*jobs.Job
	calls []time.Time // when each acknowledged write was sent
	acks  []time.Time // and answered
}

func (w *worker) ack(j *jobs.Job, call time.Time) {
	w.acked = append(w.acked, j)
	w.calls, w.acks = append(w.calls, call), append(w.acks, time.Now())
}

func (w *worker) step(ctx context.Context, ids *idSet) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	call := time.Now()
	if rand.IntN(5) == 0 { // the gateway accepts a job
		j, err := w.store.Create(ctx, newJob("acme", time.Now()))
		if err == nil {
			w.ack(j, call)
			ids.add(j.ID)
		}
		return
	}
	id := ids.pick()
	fence, assigned := w.mine[id]
	out, err := w.store.Update(ctx, id, func(j *jobs.Job) error {
		switch {
		case assigned && rand.IntN(3) == 0:
			if err := j.CheckFence(fence); err != nil {
				return err
			}
			j.Progress = min(j.Progress+0.1, 0.9)
			return nil
		case assigned:
			return j.Succeed(fence, jobs.Output{Bytes: 1, Key: w.name}, time.Now())
		case j.Status == jobs.Queued:
			return j.Assign(w.name, j.Revision, time.Now())
		case j.Status == jobs.Running && rand.IntN(4) == 0: // its worker was declared lost
			return j.Requeue(jobs.Error{Code: "WORKER_LOST"}, time.Now())
		}
		return errSkip
	})
	switch {
	case err == nil:
		w.ack(out, call)
		if out.Status == jobs.Running && out.Worker != nil && *out.Worker == w.name {
			w.mine[id] = out.Fence
		} else {
			delete(w.mine, id)
		}
	case errors.Is(err, jobs.ErrStaleFence), errors.Is(err, jobs.ErrTransition):
		delete(w.mine, id) // a stale assignment is refused, as it must be
	}
}

// idSet is the ids of acknowledged jobs, shared by the workers.
type idSet struct {
	mu  sync.Mutex
	ids []jobs.ID
}

func (s *idSet) add(id jobs.ID) { s.mu.Lock(); s.ids = append(s.ids, id); s.mu.Unlock() }
func (s *idSet) pick() jobs.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Prefer recent jobs: old ones are mostly finished.
	return s.ids[max(0, len(s.ids)-1-rand.IntN(min(len(s.ids), 12)))]
}

// legal checks the invariants of a job record.
func legal(j *jobs.Job) error {
	switch j.Status {
	case jobs.Queued:
		if j.Worker != nil || j.Fence != 0 {
			return fmt.Errorf("queued with worker or fence")
		}
	case jobs.Running:
		if j.Worker == nil || j.Fence == 0 || j.StartedAt == nil || j.Attempts < 1 {
			return fmt.Errorf("running without assignment")
		}
	case jobs.Succeeded:
		if j.Output == nil || j.Completions != 1 || j.FinishedAt == nil || j.Attempts < 1 {
			return fmt.Errorf("succeeded without output or with %d completions", j.Completions)
		}
	case jobs.Failed, jobs.Canceled:
	default:
		return fmt.Errorf("unknown status %q", j.Status)
	}
	return nil
}

func TestStore_JobsSurviveLeaderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("3-member failover test")
	}
	c := kvtest.StartCluster(t, 3)
	leader := c.WaitLeader(10 * time.Second)
	ctx := testCtx(t)
	s := New(c.Client(), "/failover")
	from, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := &idSet{}
	for range 4 {
		ids.add(mustCreate(t, s, newJob("acme", time.Now())).ID)
	}

	workers := make([]*worker, 6)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(4 * time.Second)
	for i := range workers {
		w := &worker{name: fmt.Sprintf("w%d", i), store: New(c.Client(), "/failover"), mine: map[jobs.ID]int64{}}
		workers[i] = w
		wg.Go(func() {
			for time.Now().Before(end) {
				w.step(ctx, ids)
			}
		})
	}
	time.Sleep(time.Second)
	killed := time.Now()
	c.Kill(leader)
	wg.Wait()

	// Every acknowledged write is in the record's history, unchanged.
	acked := map[int64]*jobs.Job{}
	var firstAfterKill time.Time
	for _, w := range workers {
		for i, j := range w.acked {
			acked[j.Revision] = j
			if at := w.acks[i]; w.calls[i].After(killed) && (firstAfterKill.IsZero() || at.Before(firstAfterKill)) {
				firstAfterKill = at
			}
		}
	}
	if firstAfterKill.IsZero() {
		t.Fatal("no write sent after the leader was killed was acknowledged")
	}
	last, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	history := map[jobs.ID][]*jobs.Job{}
	ch, err := s.WatchJobs(ctx, from+1)
	if err != nil {
		t.Fatal(err)
	}
	for rev := from; rev < last; {
		select {
		case e := <-ch:
			rev = e.Job.Revision
			history[e.Job.ID] = append(history[e.Job.ID], e.Job)
			if a, ok := acked[rev]; ok {
				if !sameRecord(a, e.Job) {
					t.Errorf("acknowledged write at %d differs from the stored one", rev)
				}
				delete(acked, rev)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("history stopped at %d of %d", rev, last)
		}
	}
	if len(acked) > 0 {
		t.Fatalf("%d acknowledged writes are missing from the history", len(acked))
	}

	// Each record went through legal transitions and is in a legal state.
	n := 0
	found := map[jobs.ID]bool{}
	err = s.Scan(ctx, func(j *jobs.Job) error {
		n++
		found[j.ID] = true
		h := history[j.ID]
		if len(h) == 0 || h[len(h)-1].Revision != j.Revision {
			return fmt.Errorf("%s: record at %d is not the last of its history", j.ID, j.Revision)
		}
		for i, r := range h {
			if err := legal(r); err != nil {
				return fmt.Errorf("%s at %d: %v", j.ID, r.Revision, err)
			}
			if i == 0 {
				continue
			}
			p := h[i-1]
			if p.Status != r.Status && !jobs.CanTransition(p.Status, r.Status) {
				return fmt.Errorf("%s: illegal %s → %s at %d", j.ID, p.Status, r.Status, r.Revision)
			}
			if want := p.Attempts + btoi(p.Status == jobs.Queued && r.Status == jobs.Running); r.Attempts != want {
				return fmt.Errorf("%s: attempts %d → %d at %d", j.ID, p.Attempts, r.Attempts, r.Revision)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A create whose answer was lost may have happened too, so there may
	// be more jobs than acknowledged ones, never fewer.
	for _, id := range ids.ids {
		if !found[id] {
			t.Errorf("acknowledged job %s is missing", id)
		}
	}
	t.Logf("%d jobs, %d revisions; leader killed after %s, the first write sent after it was acknowledged %s after it",
		n, last-from, killed.Sub(start).Round(time.Millisecond), firstAfterKill.Sub(killed).Round(time.Millisecond))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sameRecord(a, b *jobs.Job) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestStore_UnavailableWhenOnlyMemberStopped(t *testing.T) {
	c := kvtest.StartCluster(t, 1)
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
