package sharedstate

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
)

// offer hands v to a subscriber's one-slot channel without blocking: a
// value the subscriber has not read yet is replaced, so a slow reader
// skips intermediate values but never misses the latest. Only the
// channel's single sender may call it.
func offer(ch chan float64, v float64) {
	select {
	case ch <- v:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- v:
	default:
	}
}

func checkProgress(p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return invalidArgument("progress %v is outside [0, 1]", p)
	}
	return nil
}

// MemoryProgress is the in-process Progress: subscriber lists per job and
// the latest value of each job for late subscribers.
type MemoryProgress struct {
	mu        sync.Mutex
	ttl       time.Duration
	latest    map[string]latestProgress
	subs      map[string]map[chan float64]struct{}
	lastSweep time.Time
	clock     clock.Clock
}

type latestProgress struct {
	value   float64
	expires time.Time
}

// NewMemoryProgress keeps each job's latest value for ttl after its last
// Publish.
func NewMemoryProgress(ttl time.Duration) *MemoryProgress {
	return &MemoryProgress{
		ttl:    ttl,
		latest: make(map[string]latestProgress),
		subs:   make(map[string]map[chan float64]struct{}),
		clock:  clock.Real{},
	}
}

// Publish records progress for jobID and offers it to every subscriber.
func (m *MemoryProgress) Publish(ctx context.Context, jobID string, progress float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkProgress(progress); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	if now.Sub(m.lastSweep) >= sweepEvery {
		for job, l := range m.latest {
			if !now.Before(l.expires) {
				delete(m.latest, job)
			}
		}
		m.lastSweep = now
	}
	m.latest[jobID] = latestProgress{value: progress, expires: now.Add(m.ttl)}
	// Sending under the lock is safe because offer never blocks, and it
	// keeps a channel from being closed while a value is offered to it.
	for ch := range m.subs[jobID] {
		offer(ch, progress)
	}
	return nil
}

// Subscribe streams jobID's progress until ctx ends.
func (m *MemoryProgress) Subscribe(ctx context.Context, jobID string) (<-chan float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := make(chan float64, 1)
	m.mu.Lock()
	if m.subs[jobID] == nil {
		m.subs[jobID] = make(map[chan float64]struct{})
	}
	m.subs[jobID][ch] = struct{}{}
	if l, ok := m.latest[jobID]; ok && m.clock.Now().Before(l.expires) {
		offer(ch, l.value)
	}
	m.mu.Unlock()
	context.AfterFunc(ctx, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs[jobID], ch)
		if len(m.subs[jobID]) == 0 {
			delete(m.subs, jobID)
		}
		close(ch)
	})
	return ch, nil
}

// Subscribers is the number of open subscriptions to jobID.
func (m *MemoryProgress) Subscribers(jobID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs[jobID])
}
