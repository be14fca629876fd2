package main

import (
	"context"
	"net/http"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/services/submit"
)

// Where the time goes: the server's own time per request (handler entry
// to return) and the submitter's etcd create and Kafka publish, in every
// row; a CPU profile (profile.go) when a target is missed.

// serverTimer times the gateway's handler.
type serverTimer struct {
	mu    sync.Mutex
	times []time.Duration
}

// wrap times h and labels its CPU samples "gateway handler".
func (s *serverTimer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		pprof.Do(r.Context(), pprof.Labels("side", "gateway handler"), func(ctx context.Context) {
			h.ServeHTTP(w, r.WithContext(ctx))
		})
		d := time.Since(t0)
		s.mu.Lock()
		s.times = append(s.times, d)
		s.mu.Unlock()
	})
}

func (s *serverTimer) reset() {
	s.mu.Lock()
	s.times = s.times[:0]
	s.mu.Unlock()
}

func (s *serverTimer) percentiles() (p50, p99 time.Duration) {
	s.mu.Lock()
	t := slices.Clone(s.times)
	s.mu.Unlock()
	if len(t) == 0 {
		return 0, 0
	}
	slices.Sort(t)
	return pct(t, 0.5), pct(t, 0.99)
}

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

// pct is the q-quantile of the durations in xs.
func (t *timing) pct(xs *[]time.Duration, q float64) time.Duration {
	t.mu.Lock()
	s := slices.Clone(*xs)
	t.mu.Unlock()
	if len(s) == 0 {
		return 0
	}
	slices.Sort(s)
	return pct(s, q)
}

func numCPU() int { return runtime.NumCPU() }
