package jobstore

import (
	"context"
	"sync"

	"github.com/stickerd/stickerd/internal/jobs"
)

// Cached serves Get from memory for the API's reads: a job is read from
// etcd once, then kept current by one watch of every job record, so a
// busy GET /v1/renders/{id} costs no etcd round trip. A cached record
// trails the store by the watch's delay (milliseconds); everything but Get
// goes to the Store. When the watch ends, the cache is dropped and Get
// reads etcd again.
type Cached struct {
	*Store
	max int

	mu      sync.RWMutex
	jobs    map[jobs.ID]*jobs.Job
	healthy bool
}

// NewCached starts the watch that keeps the cache current until ctx ends;
// it holds at most max records.
func NewCached(ctx context.Context, s *Store, max int) (*Cached, error) {
	c := &Cached{Store: s, max: max, jobs: map[jobs.ID]*jobs.Job{}}
	ch, err := s.WatchJobs(ctx, 0)
	if err != nil {
		return nil, err
	}
	c.healthy = true
	go c.follow(ch)
	return c, nil
}

func (c *Cached) follow(ch <-chan Event) {
	for ev := range ch {
		if ev.Job == nil {
			continue
		}
		c.mu.Lock()
		if cur, ok := c.jobs[ev.Job.ID]; ok {
			switch {
			case ev.Deleted:
				delete(c.jobs, ev.Job.ID)
			case ev.Job.Revision > cur.Revision:
				c.jobs[ev.Job.ID] = ev.Job
			}
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.healthy, c.jobs = false, map[jobs.ID]*jobs.Job{}
	c.mu.Unlock()
}

// Get returns the job from memory, or reads it from etcd and remembers it.
func (c *Cached) Get(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	c.mu.RLock()
	j, ok := c.jobs[id]
	healthy := c.healthy
	c.mu.RUnlock()
	if ok {
		return j.Clone(), nil
	}
	j, err := c.Store.Get(ctx, id)
	if err != nil || !healthy {
		return j, err
	}
	c.mu.Lock()
	if cur, ok := c.jobs[id]; !ok || j.Revision > cur.Revision {
		if len(c.jobs) >= c.max {
			for k := range c.jobs { // evict an arbitrary entry
				delete(c.jobs, k)
				break
			}
		}
		c.jobs[id] = j
	}
	c.mu.Unlock()
	return j.Clone(), nil
}
