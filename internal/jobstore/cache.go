package jobstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// The watch behind a Cached is re-opened after it ends, first after
// rewatchMin, then backing off to rewatchMax between failed tries.
const (
	rewatchMin = 50 * time.Millisecond
	rewatchMax = 5 * time.Second
)

// Cached serves Get from memory for the API's reads: a job is read from
// etcd once, then kept current by one watch of every job record, so a
// busy GET /v1/renders/{id} costs no etcd round trip. A cached record
// trails the store by the watch's delay (milliseconds); everything but Get,
// Watch, List and Latest goes to the Store.
//
// Three reads keep that delay from contradicting what a client saw:
//
//   - Watch of one job (the event stream) puts every record it delivers
//     into the cache, over an older one, before handing it on. A client
//     that saw "succeeded" on the stream and then reads the job from the
//     same gateway gets that record or a newer one.
//   - List (read from the store) does the same with the records it read.
//   - Latest reads the store (linearizable) and caches what it read: for
//     answers that refuse on a job's state (a download of an output that
//     the cache does not yet show as succeeded), which must not rest on a
//     record that trails.
//
// A record is cached with the revision it was read or delivered at, and
// an entry is only ever replaced by a newer revision, whichever of a read
// and the watch comes first:
//
//   - The watch replaces a cached record with a newer one and drops it on
//     a delete. Events for jobs nobody has cached are not kept, except for
//     jobs a Get is reading from the store at that moment: for those the
//     newest event is held until the reads end.
//   - A Get that missed reads the store and caches what it read, unless
//     the watch delivered a newer record of the job while the read was in
//     flight: then it caches and answers that one (after a delete,
//     ErrNotFound, and nothing is cached). A record read while the watch
//     was already past it can therefore never stick in the cache.
//
// So once the watch has delivered revision r of a job, Get never answers an
// older revision, and a cached record is always replaced by the next change
// the watch delivers. Eviction (at most max records, an arbitrary one goes)
// only forgets: the next Get reads the store, whose reads are linearizable
// and so at least as new as anything the watch delivered.
//
// When the watch ends the cache is dropped, Get reads the store and caches
// nothing, and the watch is re-opened from the current revision with
// backoff until ctx ends. A read that began under the old watch is not
// cached: changes between the two watches were seen by neither.
//
// One gap remains that the cache cannot see: when the watch's history was
// compacted away while it was down, WatchJobs resends every current record
// but cannot tell of records deleted meanwhile, so such a record could
// stay cached (job records are not deleted today).
type Cached struct {
	*Store
	src cacheSource
	max int

	mu sync.RWMutex
	// jobs is what Get serves: each record as a read or the watch left it,
	// with its Revision.
	jobs map[jobs.ID]*jobs.Job
	// fills are the jobs being read from the store now, each with the
	// newest event the watch delivered for it since the reads began.
	fills map[jobs.ID]*fill
	// healthy: a watch is open, so records may be cached.
	healthy bool
	// epoch counts the watches that ended; a read is cached only under
	// the watch it began under.
	epoch uint64
}

// fill is the state of one job's in-flight reads.
type fill struct {
	readers int    // Gets reading the job from the store now
	seen    *Event // the newest event for the job since the first of them began; nil: none
}

// cacheSource is what Cached reads: a Store, or in tests a Memory or a
// scripted fake.
type cacheSource interface {
	Get(ctx context.Context, id jobs.ID) (*jobs.Job, error)
	WatchJobs(ctx context.Context, fromRevision int64) (<-chan Event, error)
	Watch(ctx context.Context, id jobs.ID) (<-chan *jobs.Job, error)
	List(ctx context.Context, o ListOptions) ([]*jobs.Job, string, error)
}

// NewCached starts the watch that keeps the cache current until ctx ends;
// it holds at most max records. It fails only when the first watch cannot
// be opened; a watch that ends later is re-opened.
func NewCached(ctx context.Context, s *Store, max int) (*Cached, error) {
	return newCached(ctx, s, s, max)
}

// newCached is NewCached reading src: the Store for everything but Get is
// s, which may be nil where only Get is called (tests).
func newCached(ctx context.Context, s *Store, src cacheSource, max int) (*Cached, error) {
	c := &Cached{Store: s, src: src, max: max, jobs: map[jobs.ID]*jobs.Job{}, fills: map[jobs.ID]*fill{}}
	ch, err := src.WatchJobs(ctx, 0)
	if err != nil {
		return nil, err
	}
	c.healthy = true
	go c.run(ctx, ch)
	return c, nil
}

// run applies the watch's events, and re-opens the watch whenever it ends,
// until ctx ends.
func (c *Cached) run(ctx context.Context, ch <-chan Event) {
	for {
		for ev := range ch {
			if ev.Job != nil {
				c.apply(ev)
			}
		}
		c.mu.Lock()
		c.healthy, c.epoch = false, c.epoch+1
		c.jobs, c.fills = map[jobs.ID]*jobs.Job{}, map[jobs.ID]*fill{}
		c.mu.Unlock()
		if ch = c.reopen(ctx); ch == nil {
			return
		}
		c.mu.Lock()
		c.healthy = true
		c.mu.Unlock()
	}
}

// reopen opens a new watch from the current revision, backing off between
// failed tries; nil when ctx ended first.
func (c *Cached) reopen(ctx context.Context) <-chan Event {
	wait := rewatchMin
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if ch, err := c.src.WatchJobs(ctx, 0); err == nil {
			return ch
		}
		wait = min(2*wait, rewatchMax)
	}
}

// apply is one event of the watch.
func (c *Cached) apply(ev Event) {
	id := ev.Job.ID
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.fills[id]; f != nil && (f.seen == nil || ev.Job.Revision > f.seen.Job.Revision) {
		f.seen = &ev
	}
	if cur, ok := c.jobs[id]; ok && ev.Job.Revision > cur.Revision {
		if ev.Deleted {
			delete(c.jobs, id)
		} else {
			c.jobs[id] = ev.Job
		}
	}
}

// Get returns the job from memory, or reads it from etcd and remembers it
// (see Cached for why what it remembers is never older than the watch).
func (c *Cached) Get(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	c.mu.RLock()
	j, ok := c.jobs[id]
	c.mu.RUnlock()
	if ok {
		return j.Clone(), nil
	}

	return c.read(ctx, id, false)
}

// Latest reads the job from the store, whatever the cache holds, and leaves
// the cache no older than what it read.
func (c *Cached) Latest(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	return c.read(ctx, id, true)
}

// read is Get's miss: it reads the store and caches what it read, unless
// the watch delivered something newer meanwhile. Unless latest, a record
// cached by then is answered instead.
func (c *Cached) read(ctx context.Context, id jobs.ID, latest bool) (*jobs.Job, error) {
	c.mu.Lock()
	if j, ok := c.jobs[id]; ok && !latest {
		c.mu.Unlock()
		return j.Clone(), nil
	}
	if !c.healthy {
		c.mu.Unlock()
		return c.src.Get(ctx, id)
	}
	epoch := c.epoch
	f := c.fills[id]
	if f == nil {
		f = &fill{}
		c.fills[id] = f
	}
	f.readers++
	c.mu.Unlock()

	j, err := c.src.Get(ctx, id)

	c.mu.Lock()
	defer c.mu.Unlock()
	if f.readers--; f.readers == 0 && c.fills[id] == f {
		delete(c.fills, id)
	}
	if err != nil || epoch != c.epoch {
		// Not found or not read: nothing to remember. Or the watch ended
		// while reading: what changed since is unknown, so no caching.
		return j, err
	}
	if seen := f.seen; seen != nil && seen.Job.Revision > j.Revision {
		// The watch delivered a newer record while the read was in
		// flight: that is the job now.
		if seen.Deleted {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		j = seen.Job
	}
	if cur, ok := c.jobs[id]; ok && cur.Revision >= j.Revision {
		return cur.Clone(), nil // another Get or the watch got here first
	}
	c.putLocked(id, j)
	return j.Clone(), nil
}

// Watch is the store's Watch of one job; every record it delivers is put in
// the cache first, over an older cached one, so that Get never answers a
// record older than one the stream has handed out.
func (c *Cached) Watch(ctx context.Context, id jobs.ID) (<-chan *jobs.Job, error) {
	in, err := c.src.Watch(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make(chan *jobs.Job)
	go func() {
		defer close(out)
		for j := range in {
			// As the cache's own watch would deliver it: it replaces an
			// older cached record and counts for reads in flight.
			c.apply(Event{Job: j.Clone()})
			select {
			case out <- j:
			case <-ctx.Done():
				return // in closes once ctx has ended
			}
		}
	}()
	return out, nil
}

// List is the store's List; every record it read replaces an older cached
// one, so that Get never answers a record older than a listing showed.
func (c *Cached) List(ctx context.Context, o ListOptions) ([]*jobs.Job, string, error) {
	js, next, err := c.src.List(ctx, o)
	for _, j := range js {
		c.apply(Event{Job: j.Clone()})
	}
	return js, next, err
}

// putLocked caches j, evicting an arbitrary record when the cache is full.
func (c *Cached) putLocked(id jobs.ID, j *jobs.Job) {
	if c.max <= 0 {
		return
	}
	if _, ok := c.jobs[id]; !ok && len(c.jobs) >= c.max {
		for k := range c.jobs {
			delete(c.jobs, k)
			break
		}
	}
	c.jobs[id] = j
}
