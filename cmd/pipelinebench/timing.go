package main

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/services/submit"
)

// timing wraps the submitter's store and producer to time each side.
type timing struct {
	store submit.Store
	pub   submit.Publisher

	mu              sync.Mutex
	create, publish []time.Duration
}

func (t *timing) Create(ctx context.Context, j *jobs.Job) (*jobs.Job, error) {
	t0 := time.Now()
	out, err := t.store.Create(ctx, j)
	t.add(&t.create, time.Since(t0))
	return out, err
}

func (t *timing) Update(ctx context.Context, id jobs.ID, fn func(*jobs.Job) error) (*jobs.Job, error) {
	return t.store.Update(ctx, id, fn)
}

func (t *timing) Publish(ctx context.Context, topic string, key, value []byte) error {
	t0 := time.Now()
	err := t.pub.Publish(ctx, topic, key, value)
	t.add(&t.publish, time.Since(t0))
	return err
}

func (t *timing) add(to *[]time.Duration, d time.Duration) {
	t.mu.Lock()
	*to = append(*to, d)
	t.mu.Unlock()
}

func (t *timing) reset() {
	t.mu.Lock()
	t.create, t.publish = nil, nil
	t.mu.Unlock()
}

func (t *timing) p50(xs *[]time.Duration) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := slices.Clone(*xs)
	if len(s) == 0 {
		return 0
	}
	slices.Sort(s)
	return s[len(s)/2]
}
