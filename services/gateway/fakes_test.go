package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/services/submit"
)

// errRedisDown stands for any failure of the coordination store.
var errRedisDown = errors.New("redis: connection refused")

// memCache is an in-memory ResultCache; failing makes every call fail.
type memCache struct {
	mu      sync.Mutex
	m       map[string]string
	failing bool
}

func (c *memCache) Get(_ context.Context, key string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failing {
		return "", false, errRedisDown
	}
	id, ok := c.m[key]
	return id, ok, nil
}

func (c *memCache) Put(_ context.Context, key, jobID string, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failing {
		return errRedisDown
	}
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[key] = jobID
	return nil
}

func (c *memCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// limiter answers a fixed verdict.
type limiter struct {
	ok    bool
	retry time.Duration
	err   error
	keys  []string
}

func (l *limiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	l.keys = append(l.keys, key)
	return l.ok, l.retry, l.err
}

// memIdem is an in-memory Idempotency store.
type memIdem struct {
	mu      sync.Mutex
	m       map[string][2]string
	failing bool
}

func (s *memIdem) Reserve(_ context.Context, key, hash, jobID string, _ time.Duration) (string, string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return "", "", false, errRedisDown
	}
	if s.m == nil {
		s.m = map[string][2]string{}
	}
	if v, ok := s.m[key]; ok {
		return v[0], v[1], false, nil
	}
	s.m[key] = [2]string{hash, jobID}
	return hash, jobID, true, nil
}

// chanProgress hands out one channel per job that tests feed.
type chanProgress struct {
	mu   sync.Mutex
	subs map[string]chan float64
	err  error
}

func (p *chanProgress) Subscribe(ctx context.Context, id string) (<-chan float64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	ch := make(chan float64, 16)
	if p.subs == nil {
		p.subs = map[string]chan float64{}
	}
	p.subs[id] = ch
	return ch, nil
}

func (p *chanProgress) sub(id string) chan float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.subs[id]
}

// idSubmitter is a Submitter that takes ids from the caller, as the
// gateway would like submit.Submitter to.
type idSubmitter struct {
	*submit.Submitter
	store *jobstore.Store
}

func (s idSubmitter) SubmitID(ctx context.Context, id jobs.ID, tenant string, sp *spec.Spec) (*jobs.Job, error) {
	raw, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	j := &jobs.Job{ID: id, Tenant: tenant, Status: jobs.Queued, Priority: jobs.Priority(sp.Priority),
		CreatedAt: time.Now().UTC(), Spec: raw, WebhookURL: sp.WebhookURL, Metadata: sp.Metadata}
	if j.Metadata == nil {
		j.Metadata = map[string]string{}
	}
	return s.store.Create(ctx, j)
}
