package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	"github.com/stickerd/stickerd/internal/jobs"
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
	c := etcdtest.StartCluster(t, 3)
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

	// Watchers opened before the failover, on a follower that loses its
	// leader (and so ends their etcd watches), must see what the history
	// shows.
	watched := ids.ids[0]
	follower := New(c.Client((leader+1)%3), "/failover")
	jobCh, err := follower.Watch(ctx, watched)
	if err != nil {
		t.Fatal(err)
	}
	allCh, err := follower.WatchJobs(ctx, from+1)
	if err != nil {
		t.Fatal(err)
	}
	liveJob, liveAll := collect(jobCh), collect(allCh)

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

	h := history[watched]
	if got, want := statuses(liveJob(t, h[len(h)-1].Revision)), statuses(h); !slices.Equal(got, want) {
		t.Errorf("Watch across the failover saw %v, the history is %v", got, want)
	}
	if got := liveAll(t, last); len(got) != int(last-from) {
		t.Errorf("WatchJobs across the failover saw %d of %d revisions", len(got), last-from)
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

// collect reads ch in the background; the function it returns waits until
// a record at revision last or later arrived (or ch closed) and returns
// what was read.
func collect[T *jobs.Job | Event](ch <-chan T) func(*testing.T, int64) []*jobs.Job {
	var (
		mu   sync.Mutex
		got  []*jobs.Job
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for v := range ch {
			var j *jobs.Job
			switch v := any(v).(type) {
			case *jobs.Job:
				j = v
			case Event:
				j = v.Job
			}
			mu.Lock()
			got = append(got, j)
			mu.Unlock()
		}
	}()
	return func(t *testing.T, last int64) []*jobs.Job {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			mu.Lock()
			n := len(got)
			reached := n > 0 && got[n-1].Revision >= last
			mu.Unlock()
			select {
			case <-done:
				reached = true
			case <-deadline:
				t.Fatalf("watcher stopped at %d records, short of revision %d", n, last)
			case <-time.After(10 * time.Millisecond):
			}
			if reached {
				mu.Lock()
				defer mu.Unlock()
				return append([]*jobs.Job(nil), got...)
			}
		}
	}
}
