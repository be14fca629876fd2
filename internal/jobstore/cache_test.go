package jobstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

func TestCached_FollowsChanges(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := NewCached(ctx, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	j := mustCreate(t, s, newJob("t1", time.Now()))
	got, err := c.Get(ctx, j.ID)
	if err != nil || got.Status != jobs.Queued {
		t.Fatal(got, err)
	}
	if _, err := s.Update(ctx, j.ID, func(j *jobs.Job) error { return j.Assign("w", j.Revision, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ = c.Get(ctx, j.ID)
		if got.Status == jobs.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cache never saw the change: %s", got.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	got.Status = jobs.Failed // a caller's mutation must not reach the cache
	if again, _ := c.Get(ctx, j.ID); again.Status != jobs.Running {
		t.Fatal("the cache handed out its own record")
	}
	if _, err := c.Get(ctx, "job_nosuchjob0000000"); err == nil {
		t.Fatal("a missing job was found")
	}
	for i := 0; i < 5; i++ { // bounded
		c.Get(ctx, mustCreate(t, s, newJob("t1", time.Now())).ID)
	}
	c.mu.RLock()
	n := len(c.jobs)
	c.mu.RUnlock()
	if n > 2 {
		t.Fatalf("cache holds %d records, bound 2", n)
	}
}

// scriptedSource is what a Cached reads, over a Memory, with both of the
// cache's inputs in the test's hands: each WatchJobs returns a feed the test
// sends events on (unbuffered, so a send returns once the cache took the
// event), and hold, when set, runs after a Get has read the store and
// before it returns, so a test can act while a read is in flight.
type scriptedSource struct {
	mem     *Memory
	watches chan chan Event // the feed of each WatchJobs call, in order

	mu   sync.Mutex
	hold func(j *jobs.Job, err error)
}

func newScriptedSource() *scriptedSource {
	return &scriptedSource{mem: NewMemory(), watches: make(chan chan Event, 16)}
}

// newScriptedCache is a Cached of at most 10 records over a new
// scriptedSource, until the test ends.
func newScriptedCache(t *testing.T) (context.Context, *scriptedSource, *Cached) {
	t.Helper()
	ctx := testCtx(t)
	src := newScriptedSource()
	c, err := newCached(ctx, nil, src, 10)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, src, c
}

func (s *scriptedSource) Get(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	j, err := s.mem.Get(ctx, id)
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		hold(j, err)
	}
	return j, err
}

func (s *scriptedSource) WatchJobs(ctx context.Context, _ int64) (<-chan Event, error) {
	ch := make(chan Event)
	s.watches <- ch
	return ch, nil
}

func (s *scriptedSource) List(ctx context.Context, o ListOptions) ([]*jobs.Job, string, error) {
	return s.mem.List(ctx, o)
}

func (s *scriptedSource) Watch(ctx context.Context, id jobs.ID) (<-chan *jobs.Job, error) {
	return s.mem.Watch(ctx, id)
}

func (s *scriptedSource) setHold(h func(*jobs.Job, error)) {
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
}

// nextWatch is the feed of the next watch the cache opens.
func (s *scriptedSource) nextWatch(t *testing.T) chan Event {
	t.Helper()
	select {
	case ch := <-s.watches:
		return ch
	case <-time.After(5 * time.Second):
		t.Fatal("the cache opened no watch")
		return nil
	}
}

// deliver hands evs to the cache on feed and returns once it has applied
// them: the empty event after them is taken only when the cache has come
// back for more.
func deliver(t *testing.T, feed chan<- Event, evs ...Event) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for _, ev := range append(evs, Event{}) {
		select {
		case feed <- ev:
		case <-timeout:
			t.Fatal("the cache stopped reading its watch")
		}
	}
}

// TestCached_FirstReadRacingTheWatch is issue 13's stale record, step by
// step: the first Get of a job reads revision r, the watch then delivers
// r+1 for that job (which nobody had cached yet), and only then does the
// Get store what it read. Neither that Get nor any later one may answer r:
// no further event would ever correct it.
func TestCached_FirstReadRacingTheWatch(t *testing.T) {
	ctx, src, c := newScriptedCache(t)
	feed := src.nextWatch(t)
	j := mustCreate(t, src.mem, newJob("t1", time.Now()))

	read, resume := make(chan *jobs.Job), make(chan struct{})
	src.setHold(func(j *jobs.Job, _ error) {
		read <- j
		<-resume
	})
	first := make(chan *jobs.Job, 1)
	go func() {
		got, err := c.Get(ctx, j.ID)
		if err != nil {
			t.Error(err)
		}
		first <- got
	}()
	old := <-read // the Get holds revision r
	src.setHold(nil)
	done, err := src.mem.Update(ctx, j.ID, func(j *jobs.Job) error {
		if err := j.Assign("w", j.Revision, time.Now()); err != nil {
			return err
		}
		return j.Succeed(j.Revision, jobs.Output{}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, feed, Event{Job: done.Clone()}) // r+1, before the Get stores r
	close(resume)

	if got := <-first; got.Revision != done.Revision || got.Status != jobs.Succeeded {
		t.Errorf("the racing Get answered revision %d (%s) after the watch delivered %d (%s); it read %d",
			got.Revision, got.Status, done.Revision, done.Status, old.Revision)
	}
	for i := 0; i < 3; i++ {
		got, err := c.Get(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Revision != done.Revision || got.Status != jobs.Succeeded {
			t.Fatalf("Get %d answered revision %d (%s); the store and the watch are at %d (%s)",
				i+2, got.Revision, got.Status, done.Revision, done.Status)
		}
	}
}

// holdFirstRead makes the next Get of src stop after its read: it returns
// the record read, once the Get has it, and a func that lets the Get go on.
func holdFirstRead(t *testing.T, src *scriptedSource) (read <-chan *jobs.Job, resume func()) {
	t.Helper()
	r, resumed := make(chan *jobs.Job, 1), make(chan struct{})
	var once sync.Once
	src.setHold(func(j *jobs.Job, _ error) {
		held := false
		once.Do(func() { held = true })
		if !held {
			return
		}
		r <- j
		<-resumed
	})
	return r, func() { close(resumed) }
}

// getAsync runs c.Get(id) and hands back its answer as an Event: the
// record, or Deleted when Get answered ErrNotFound.
func getAsync(ctx context.Context, c *Cached, id jobs.ID) <-chan Event {
	out := make(chan Event, 1)
	go func() {
		j, err := c.Get(ctx, id)
		if err != nil {
			out <- Event{Job: &jobs.Job{ID: id}, Deleted: errors.Is(err, ErrNotFound)}
			return
		}
		out <- Event{Job: j}
	}()
	return out
}

func cachedRevision(c *Cached, id jobs.ID) (int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	j, ok := c.jobs[id]
	if !ok {
		return 0, false
	}
	return j.Revision, true
}

func bump(t *testing.T, s *Memory, id jobs.ID) *jobs.Job {
	t.Helper()
	j, err := s.Update(testCtx(t), id, func(j *jobs.Job) error {
		j.Progress += 0.25
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// A delete the watch delivers while the first read of the job is in
// flight wins over the older record read: ErrNotFound, nothing cached.
func TestCached_DeleteRacingTheFirstRead(t *testing.T) {
	ctx, src, c := newScriptedCache(t)
	feed := src.nextWatch(t)
	j := mustCreate(t, src.mem, newJob("t1", time.Now()))
	read, resume := holdFirstRead(t, src)
	ans := getAsync(ctx, c, j.ID)
	<-read
	deliver(t, feed, Event{Job: &jobs.Job{ID: j.ID, Revision: j.Revision + 1}, Deleted: true})
	resume()
	if got := <-ans; !got.Deleted {
		t.Errorf("the Get answered revision %d of a job the watch had deleted", got.Job.Revision)
	}
	if rev, ok := cachedRevision(c, j.ID); ok {
		t.Errorf("a deleted job is cached at revision %d", rev)
	}
}

// The watch may trail a read: a record read at r+1 stays when the watch
// then delivers r, and the watch's r+2 replaces it.
func TestCached_ReadAheadOfTheWatch(t *testing.T) {
	ctx, src, c := newScriptedCache(t)
	feed := src.nextWatch(t)
	j := mustCreate(t, src.mem, newJob("t1", time.Now()))
	j1 := bump(t, src.mem, j.ID)
	got, err := c.Get(ctx, j.ID)
	if err != nil || got.Revision != j1.Revision {
		t.Fatal(got, err)
	}
	deliver(t, feed, Event{Job: j.Clone()}, Event{Job: j1.Clone()}) // late
	if got, _ := c.Get(ctx, j.ID); got.Revision != j1.Revision {
		t.Fatalf("a late event took the cache back from %d to %d", j1.Revision, got.Revision)
	}
	j2 := bump(t, src.mem, j.ID)
	deliver(t, feed, Event{Job: j2.Clone()})
	if got, _ := c.Get(ctx, j.ID); got.Revision != j2.Revision {
		t.Fatalf("the watch delivered %d, Get answered %d", j2.Revision, got.Revision)
	}
	deliver(t, feed, Event{Job: &jobs.Job{ID: j.ID, Revision: j2.Revision + 1}, Deleted: true})
	if rev, ok := cachedRevision(c, j.ID); ok {
		t.Fatalf("a deleted job is still cached at revision %d", rev)
	}
}

// When the watch ends, Get reads the store (nothing stale is served), a
// read that began under the old watch is not cached, and the watch is
// opened again, after which records are cached and followed as before.
func TestCached_WatchEndsAndIsReopened(t *testing.T) {
	ctx, src, c := newScriptedCache(t)
	feed := src.nextWatch(t)
	a := mustCreate(t, src.mem, newJob("t1", time.Now()))
	b := mustCreate(t, src.mem, newJob("t1", time.Now()))
	if _, err := c.Get(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	read, resume := holdFirstRead(t, src)
	ans := getAsync(ctx, c, b.ID)
	<-read // b is read under the first watch

	close(feed)
	waitHealthy(t, c, false)
	a1 := bump(t, src.mem, a.ID) // a change no watch sees
	if got, err := c.Get(ctx, a.ID); err != nil || got.Revision != a1.Revision {
		t.Fatalf("without a watch Get answered %v, %v; the store has revision %d", got, err, a1.Revision)
	}
	feed = src.nextWatch(t) // reopened
	waitHealthy(t, c, true)
	resume()
	if got := <-ans; got.Job.Revision != b.Revision {
		t.Fatalf("the held Get answered %d, it read %d", got.Job.Revision, b.Revision)
	}
	if rev, ok := cachedRevision(c, b.ID); ok {
		t.Fatalf("a record read under the old watch is cached (revision %d)", rev)
	}
	if _, err := c.Get(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if rev, ok := cachedRevision(c, b.ID); !ok || rev != b.Revision {
		t.Fatalf("after the watch is back b is cached: %v at %d, want %d", ok, rev, b.Revision)
	}
	b1 := bump(t, src.mem, b.ID)
	deliver(t, feed, Event{Job: b1.Clone()})
	if got, _ := c.Get(ctx, b.ID); got.Revision != b1.Revision {
		t.Fatalf("the new watch delivered %d, Get answered %d", b1.Revision, got.Revision)
	}
}

// waitHealthy waits until the cache has (want) or has not a watch open.
func waitHealthy(t *testing.T, c *Cached, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.RLock()
		ok := c.healthy
		c.mu.RUnlock()
		if ok == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cache's watch is not open=%v after 5s", want)
		}
		time.Sleep(time.Millisecond)
	}
}

// Eviction keeps the bound, replacing a cached record evicts nothing, and
// an evicted record is read again, as new as the store.
func TestCached_Eviction(t *testing.T) {
	ctx := testCtx(t)
	src := newScriptedSource()
	c, err := newCached(ctx, nil, src, 2)
	if err != nil {
		t.Fatal(err)
	}
	feed := src.nextWatch(t)
	var ids []jobs.ID
	for i := 0; i < 2; i++ {
		j := mustCreate(t, src.mem, newJob("t1", time.Now()))
		ids = append(ids, j.ID)
		if _, err := c.Get(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	j0 := bump(t, src.mem, ids[0])
	deliver(t, feed, Event{Job: j0.Clone()})
	for _, id := range ids {
		if _, ok := cachedRevision(c, id); !ok {
			t.Fatalf("%s was evicted by a change to a cached record", id)
		}
	}
	for i := 0; i < 5; i++ {
		j := mustCreate(t, src.mem, newJob("t1", time.Now()))
		ids = append(ids, j.ID)
		if _, err := c.Get(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.RLock()
	n := len(c.jobs)
	c.mu.RUnlock()
	if n > 2 {
		t.Fatalf("cache holds %d records, bound 2", n)
	}
	for _, id := range ids {
		got, err := c.Get(ctx, id)
		want, _ := src.mem.Get(ctx, id)
		if err != nil || got.Revision != want.Revision {
			t.Fatalf("%s: Get answered %v, %v; the store has revision %d", id, got, err, want.Revision)
		}
	}
}

// TestCached_WatchOfAJobUpdatesTheCache: a client that saw a change on a
// job's event stream (Watch) and then reads the job (Get) on the same
// gateway gets that change or a newer one, even while the cache's own
// watch has not delivered it yet. The CI failure: the stream said
// succeeded, the download read "running" from the cache.
func TestCached_WatchOfAJobUpdatesTheCache(t *testing.T) {
	ctx, src, c := newScriptedCache(t)
	feed := src.nextWatch(t)
	j := mustCreate(t, src.mem, newJob("t1", time.Now()))
	if got, err := c.Get(ctx, j.ID); err != nil || got.Revision != j.Revision {
		t.Fatal(got, err)
	}
	updates, err := c.Watch(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first := <-updates; first.Revision != j.Revision {
		t.Fatalf("first record at %d, want %d", first.Revision, j.Revision)
	}
	next := bump(t, src.mem, j.ID) // the cache's watch (feed) trails: not delivered
	select {
	case got := <-updates:
		if got.Revision != next.Revision {
			t.Fatalf("watch delivered %d, want %d", got.Revision, next.Revision)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the job's watch delivered nothing")
	}
	if got, err := c.Get(ctx, j.ID); err != nil || got.Revision < next.Revision {
		t.Fatalf("Get answered revision %d after the stream delivered %d (%v)", got.Revision, next.Revision, err)
	}
	// The cache's watch delivering the older change late changes nothing.
	deliver(t, feed, Event{Job: next})
	if rev, _ := cachedRevision(c, j.ID); rev != next.Revision {
		t.Fatalf("cached revision %d, want %d", rev, next.Revision)
	}
}

// TestCached_ReadsOfTheStoreUpdateIt: Latest (a read of the store, what
// the gateway refuses downloads on) and List (the issue-13 report: the
// list said succeeded, GET said running) answer the stored record while
// the cached one trails its watch, and leave no older record in the cache
// for Get to answer.
func TestCached_ReadsOfTheStoreUpdateIt(t *testing.T) {
	tests := []struct {
		name string
		read func(ctx context.Context, c *Cached, id jobs.ID) (*jobs.Job, error)
	}{
		{"Latest", func(ctx context.Context, c *Cached, id jobs.ID) (*jobs.Job, error) { return c.Latest(ctx, id) }},
		{"List", func(ctx context.Context, c *Cached, id jobs.ID) (*jobs.Job, error) {
			listed, _, err := c.List(ctx, ListOptions{Tenant: "t1"})
			if err != nil || len(listed) != 1 {
				return nil, fmt.Errorf("listed %d jobs: %v", len(listed), err)
			}
			return listed[0], nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, src, c := newScriptedCache(t)
			src.nextWatch(t) // never delivers
			j := mustCreate(t, src.mem, newJob("t1", time.Now()))
			if _, err := c.Get(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
			next := bump(t, src.mem, j.ID)
			if got, _ := c.Get(ctx, j.ID); got.Revision != j.Revision {
				t.Fatalf("the test's premise: Get answered %d, want the trailing %d", got.Revision, j.Revision)
			}
			got, err := tt.read(ctx, c, j.ID)
			if err != nil || got.Revision != next.Revision {
				t.Fatalf("%s answered %v (%v), want revision %d", tt.name, got, err, next.Revision)
			}
			if got, _ := c.Get(ctx, j.ID); got.Revision != next.Revision {
				t.Fatalf("Get after %s answered revision %d, want %d", tt.name, got.Revision, next.Revision)
			}
		})
	}
	t.Run("Latest of a missing job", func(t *testing.T) {
		ctx, src, c := newScriptedCache(t)
		src.nextWatch(t)
		if _, err := c.Latest(ctx, "job_nosuchjob0000000"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a missing job: %v", err)
		}
	})
}
