package jobstore

import (
	"context"
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
