package submit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/render/spec"
)

// pub counts what is produced, by job.
type pub struct {
	mu   sync.Mutex
	keys []string
}

func (p *pub) Publish(_ context.Context, _ string, key, _ []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, string(key))
	return nil
}

func (p *pub) produced() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.keys...)
}

func parse(t *testing.T, text string) *spec.Spec {
	t.Helper()
	sp, err := spec.Parse([]byte(`{"source":{"color":"#102030","width":320,"height":240,"duration":1,"fps":10},
	  "stickers":[{"type":"text","text":`+fmt.Sprintf("%q", text)+`}],"output":{"format":"mp4"}}`), spec.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestSubmitIdempotent(t *testing.T) {
	ctx := context.Background()
	store := jobstore.NewMemory()
	p := &pub{}
	s := &Submitter{Store: store, Pub: p}
	if !s.Idempotent() {
		t.Fatal("a Memory store keeps idempotency keys")
	}
	k := jobstore.IdemKey{Tenant: "acme", Key: "order-1", BodyHash: "h1", TTL: time.Hour}
	first, created, err := s.SubmitIdempotent(ctx, "acme", parse(t, "a"), k)
	if err != nil || !created || first.Status != jobs.Queued || first.Tenant != "acme" {
		t.Fatalf("first submit: %+v, created %v, %v", first, created, err)
	}
	// The retry: the same job, and no second message on the queue.
	again, created, err := s.SubmitIdempotent(ctx, "acme", parse(t, "a"), k)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("retry: %+v, created %v, %v; want job %s", again, created, err, first.ID)
	}
	if got := p.produced(); len(got) != 1 || got[0] != string(first.ID) {
		t.Fatalf("produced %v, want only %s", got, first.ID)
	}
	if j, err := s.IdempotentJob(ctx, k); err != nil || j.ID != first.ID {
		t.Fatalf("IdempotentJob: %v, %v", j, err)
	}

	// Another body is CONFLICT, and makes nothing.
	other := k
	other.BodyHash = "h2"
	_, _, err = s.SubmitIdempotent(ctx, "acme", parse(t, "b"), other)
	if !errors.Is(err, errcode.New(errcode.Conflict, "")) || !errors.Is(err, jobstore.ErrIdempotencyConflict) {
		t.Fatalf("another body: %v, want CONFLICT", err)
	}
	if _, err := s.IdempotentJob(ctx, other); !errors.Is(err, errcode.New(errcode.Conflict, "")) {
		t.Fatalf("IdempotentJob with another body: %v", err)
	}
	list, _, _ := store.List(ctx, jobstore.ListOptions{Tenant: "acme"})
	if len(list) != 1 || len(p.produced()) != 1 {
		t.Fatalf("%d jobs, %d produced; want 1 and 1", len(list), len(p.produced()))
	}

	// A free key is ErrNotFound; a claimed one names the claimed job.
	free := jobstore.IdemKey{Tenant: "acme", Key: "cached", BodyHash: "h1", TTL: time.Hour}
	if _, err := s.IdempotentJob(ctx, free); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("a free key: %v", err)
	}
	if j, fresh, err := s.ClaimIdempotent(ctx, free, first.ID); err != nil || !fresh || j.ID != first.ID {
		t.Fatalf("claim: %v, %v, %v", j, fresh, err)
	}
	if j, created, err := s.SubmitIdempotent(ctx, "acme", parse(t, "a"), free); err != nil || created || j.ID != first.ID {
		t.Fatalf("submit under a claimed key: %v, %v, %v", j, created, err)
	}
}

// plainStore keeps no idempotency keys.
type plainStore struct{ Store }

type downStore struct{ *jobstore.Memory }

func (downStore) CreateIdempotent(context.Context, *jobs.Job, jobstore.IdemKey) (*jobs.Job, bool, error) {
	return nil, false, fmt.Errorf("%w: etcd has no leader", jobstore.ErrUnavailable)
}

func TestSubmitIdempotentWithoutSupport(t *testing.T) {
	ctx := context.Background()
	k := jobstore.IdemKey{Tenant: "acme", Key: "k", BodyHash: "h", TTL: time.Hour}
	s := &Submitter{Store: plainStore{jobstore.NewMemory()}}
	if s.Idempotent() {
		t.Fatal("a store without the methods claims idempotency")
	}
	if _, _, err := s.SubmitIdempotent(ctx, "acme", parse(t, "a"), k); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("submit: %v", err)
	}
	if _, _, err := s.ClaimIdempotent(ctx, k, jobs.NewID()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("claim: %v", err)
	}
	if _, err := s.IdempotentJob(ctx, k); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("lookup: %v", err)
	}

	p := &pub{}
	s = &Submitter{Store: downStore{jobstore.NewMemory()}, Pub: p}
	if _, _, err := s.SubmitIdempotent(ctx, "acme", parse(t, "a"), k); !errors.Is(err, errcode.New(errcode.StateStoreUnavailable, "")) {
		t.Fatalf("store down: %v, want STATE_STORE_UNAVAILABLE", err)
	}
	if len(p.produced()) != 0 {
		t.Fatal("a job that was not recorded was produced")
	}
}
