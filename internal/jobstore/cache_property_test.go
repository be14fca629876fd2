package jobstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// deletedKey marks a record the property test has deleted: Memory has no
// delete, so one is an update that propSource shows as a deletion (reads
// answer ErrNotFound, the watch sends a delete event at its revision).
const deletedKey = "cache-test-deleted"

// propSource is what a Cached reads, over a Memory, with random delays
// between a Get's read and its answer and before each watch event, and a
// record of what the watch has delivered: after an event the forwarder
// sends an empty one, which the cache takes only once it has applied the
// event, and only then counts the event as delivered.
type propSource struct {
	mem *Memory

	mu        sync.Mutex
	rng       *rand.Rand
	delivered map[jobs.ID]Event // the newest event the cache has applied, per job
	top       int64             // the newest revision the cache has applied
	end       context.CancelFunc
}

func (s *propSource) pause() {
	s.mu.Lock()
	n := s.rng.IntN(6)
	s.mu.Unlock()
	switch {
	case n < 2:
	case n < 4:
		for range n * 3 {
			runtime.Gosched()
		}
	default:
		time.Sleep(time.Duration(n*50) * time.Microsecond)
	}
}

func (s *propSource) Get(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	j, err := s.mem.Get(ctx, id)
	s.pause()
	if err == nil && j.Metadata[deletedKey] != "" {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return j, err
}

func (s *propSource) WatchJobs(ctx context.Context, from int64) (<-chan Event, error) {
	wctx, cancel := context.WithCancel(ctx)
	in, err := s.mem.WatchJobs(wctx, from)
	if err != nil {
		cancel()
		return nil, err
	}
	s.mu.Lock()
	s.end = cancel
	s.mu.Unlock()
	out := make(chan Event)
	go func() {
		defer close(out)
		for ev := range in {
			s.pause()
			if ev.Job.Metadata[deletedKey] != "" {
				ev = Event{Job: &jobs.Job{ID: ev.Job.ID, Revision: ev.Job.Revision}, Deleted: true}
			}
			for _, e := range []Event{ev, {}} {
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
			s.mu.Lock()
			s.delivered[ev.Job.ID] = ev
			s.top = max(s.top, ev.Job.Revision)
			s.mu.Unlock()
		}
	}()
	return out, nil
}

// endWatch ends the open watch, as a broken connection would.
// Watch is not part of the property: the cache's Get and its watch are.
func (s *propSource) List(ctx context.Context, o ListOptions) ([]*jobs.Job, string, error) {
	return s.mem.List(ctx, o)
}

func (s *propSource) Watch(ctx context.Context, id jobs.ID) (<-chan *jobs.Job, error) {
	return s.mem.Watch(ctx, id)
}

func (s *propSource) endWatch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.end != nil {
		s.end()
	}
}

func (s *propSource) floor(id jobs.ID) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.delivered[id]
	return ev, ok
}

// TestCached_PropertyRandomInterleavings runs concurrent Gets, writes,
// deletes and watch restarts with random delays in the reads and the watch,
// seed after seed, and checks that
//   - once the watch has delivered revision r of a job, no Get that starts
//     after answers an older revision (nor ErrNotFound, unless it was a
//     delete; after a delete, always ErrNotFound), and
//   - once everything is quiet and the watch has caught up, Get answers
//     exactly what the store holds.
//
// The seed chooses the workload and the delays; the goroutines' schedule
// is the runtime's, so a failing seed may need a few runs to fail again.
func TestCached_PropertyRandomInterleavings(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 15
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			checkCacheInterleaving(t, uint64(seed))
		})
	}
}

func checkCacheInterleaving(t *testing.T, seed uint64) {
	ctx := testCtx(t)
	rng := rand.New(rand.NewPCG(seed, 13))
	src := &propSource{mem: NewMemory(), rng: rand.New(rand.NewPCG(seed, 14)), delivered: map[jobs.ID]Event{}}
	nJobs, size := 1+rng.IntN(4), 1+rng.IntN(3)
	c, err := newCached(ctx, nil, src, size)
	if err != nil {
		t.Fatal(err)
	}
	var ids []jobs.ID
	for range nJobs {
		ids = append(ids, mustCreate(t, src.mem, newJob("t1", time.Now())).ID)
	}
	t.Logf("seed %d: %d jobs, cache of %d", seed, nJobs, size)

	errDeleted := errors.New("deleted")
	var writers, readers sync.WaitGroup
	stop := make(chan struct{})
	var fail sync.Once
	report := func(format string, args ...any) {
		fail.Do(func() { t.Errorf(format, args...) })
	}
	for w := range 2 {
		r := rand.New(rand.NewPCG(seed, uint64(100+w)))
		writers.Add(1)
		go func() {
			defer writers.Done()
			for range 25 + r.IntN(25) {
				id := ids[r.IntN(len(ids))]
				del := r.IntN(40) == 0
				_, err := src.mem.Update(ctx, id, func(j *jobs.Job) error {
					if j.Metadata[deletedKey] != "" {
						return errDeleted
					}
					if del {
						j.Metadata[deletedKey] = "1"
					}
					j.Progress += 0.001
					return nil
				})
				if err != nil && !errors.Is(err, errDeleted) && !errors.Is(err, ErrConflict) {
					report("update %s: %v", id, err)
				}
				src.pause() // let the watch and the reads keep up, now and then

			}
		}()
	}
	for rd := range 4 {
		r := rand.New(rand.NewPCG(seed, uint64(200+rd)))
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[r.IntN(len(ids))]
				floor, seen := src.floor(id)
				got, err := c.Get(ctx, id)
				switch {
				case seen && floor.Deleted:
					if !errors.Is(err, ErrNotFound) {
						report("%s: the watch delivered its delete at %d, then Get answered %v, %v", id, floor.Job.Revision, got, err)
					}
				case err != nil:
					// Not found is right only for a job deleted by now
					// (a delete is for good).
					if _, serr := src.Get(ctx, id); !errors.Is(err, ErrNotFound) || !errors.Is(serr, ErrNotFound) {
						report("%s: Get: %v, the store: %v", id, err, serr)
					}
				case seen && got.Revision < floor.Job.Revision:
					report("%s: the watch delivered revision %d, then Get answered %d", id, floor.Job.Revision, got.Revision)
				}
			}
		}()
	}
	restarts := rng.IntN(3)
	for range restarts {
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		src.endWatch()
	}
	writers.Wait()
	// Keep reading while the watch delivers the last writes (those made
	// while no watch was open are never delivered: give up on them soon).
	last, _ := src.mem.Revision(ctx)
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Microsecond) {
		src.mu.Lock()
		top := src.top
		src.mu.Unlock()
		if top >= last {
			break
		}
	}
	close(stop)
	readers.Wait()
	if t.Failed() {
		return
	}

	// Quiet: once the watch is open and has delivered a write made now,
	// the cache must agree with the store on every job. A watch that was
	// just ended may not have been noticed yet, and a write made before
	// the new one opens is never delivered: write again until one is.
	deadline := time.Now().Add(10 * time.Second)
	for caught := false; !caught; {
		waitHealthy(t, c, true)
		mark := mustCreate(t, src.mem, newJob("t1", time.Now()))
		for wait := time.Now().Add(100 * time.Millisecond); time.Now().Before(wait); time.Sleep(time.Millisecond) {
			src.mu.Lock()
			caught = src.top >= mark.Revision
			src.mu.Unlock()
			if caught {
				break
			}
		}
		if !caught && time.Now().After(deadline) {
			t.Fatalf("the watch never delivered a write (%d restarts)", restarts)
		}
	}
	for round := range 2 { // the first round may read the store; the second may hit the cache
		for _, id := range ids {
			want, werr := src.Get(ctx, id)
			got, gerr := c.Get(ctx, id)
			switch {
			case werr != nil || gerr != nil:
				if !errors.Is(werr, ErrNotFound) || !errors.Is(gerr, ErrNotFound) {
					t.Errorf("round %d, %s: the store answers %v, the cache %v", round, id, werr, gerr)
				}
			case got.Revision != want.Revision || got.Progress != want.Progress:
				t.Errorf("round %d, %s: the store has revision %d, the cache answers %d", round, id, want.Revision, got.Revision)
			}
		}
	}
	c.mu.RLock()
	n, fills := len(c.jobs), len(c.fills)
	c.mu.RUnlock()
	if n > size || fills != 0 {
		t.Errorf("the cache holds %d records (bound %d) and %d reads in flight, none running", n, size, fills)
	}
}
