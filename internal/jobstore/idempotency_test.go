package jobstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/jobs"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// idemContract is what both stores promise about Idempotency-Keys.
type idemContract interface {
	contract
	CreateIdempotent(ctx context.Context, j *jobs.Job, k IdemKey) (*jobs.Job, bool, error)
	ClaimIdempotent(ctx context.Context, k IdemKey, id jobs.ID) (*jobs.Job, bool, error)
	IdempotentJob(ctx context.Context, k IdemKey) (*jobs.Job, error)
}

var (
	_ idemContract = (*Store)(nil)
	_ idemContract = (*Memory)(nil)
)

// TestIdempotencyContract runs every idempotency behaviour against both
// stores, as TestContract does for the rest of the contract.
func TestIdempotencyContract(t *testing.T) {
	behaviours := []struct {
		name string
		run  func(t *testing.T, b backend, s idemContract)
	}{
		{"create then replay", idemCreateThenReplay},
		{"the job id must be unused", idemJobIDMustBeUnused},
		{"claim for an existing job", idemClaim},
		{"invalid requests", idemInvalid},
		{"concurrent requests make one job", idemConcurrent},
		{"keys expire", idemExpire},
		{"canceled context", idemCanceledContext},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, bh := range behaviours {
				t.Run(bh.name, func(t *testing.T) { bh.run(t, b, b.new(t).(idemContract)) })
			}
		})
	}
}

func idemKey(tenant, key, hash string) IdemKey {
	return IdemKey{Tenant: tenant, Key: key, BodyHash: hash, TTL: time.Hour}
}

func mustCreateIdem(t *testing.T, s idemContract, j *jobs.Job, k IdemKey, wantCreated bool) *jobs.Job {
	t.Helper()
	got, created, err := s.CreateIdempotent(testCtx(t), j, k)
	if err != nil || created != wantCreated {
		t.Fatalf("CreateIdempotent(%s, %+v) = created %v, %v; want created %v", j.ID, k, created, err, wantCreated)
	}
	return got
}

func wantNoJob(t *testing.T, s idemContract, id jobs.ID) {
	t.Helper()
	if _, err := s.Get(testCtx(t), id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("job %s: %v, want ErrNotFound (it must not have been made)", id, err)
	}
}

func idemCreateThenReplay(t *testing.T, _ backend, s idemContract) {
	ctx := testCtx(t)
	k := idemKey("acme", "order-1", "h1")
	first := newJob("acme", time.Now().UTC())
	got := mustCreateIdem(t, s, first, k, true)
	if got.ID != first.ID || got.Revision <= 0 || first.Revision != 0 {
		t.Fatalf("created %+v from %+v", got, first)
	}
	if read, err := s.Get(ctx, first.ID); err != nil || read.Revision != got.Revision {
		t.Fatalf("read back %+v, %v", read, err)
	}

	// The same key and body: the first job, and nothing made.
	second := newJob("acme", time.Now().UTC())
	if again := mustCreateIdem(t, s, second, k, false); again.ID != first.ID {
		t.Fatalf("replay answered %s, want %s", again.ID, first.ID)
	}
	wantNoJob(t, s, second.ID)

	// A replay shows the job as it is now.
	if _, err := s.Update(ctx, first.ID, func(j *jobs.Job) error { j.Status = jobs.Running; return nil }); err != nil {
		t.Fatal(err)
	}
	if again := mustCreateIdem(t, s, newJob("acme", time.Now()), k, false); again.Status != jobs.Running {
		t.Fatalf("replay answered status %s, want running", again.Status)
	}
	if held, err := s.IdempotentJob(ctx, k); err != nil || held.ID != first.ID || held.Status != jobs.Running {
		t.Fatalf("IdempotentJob = %+v, %v", held, err)
	}

	// Another body under the key: a conflict, and nothing made.
	other := newJob("acme", time.Now())
	if _, _, err := s.CreateIdempotent(ctx, other, idemKey("acme", "order-1", "h2")); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("another body: %v, want ErrIdempotencyConflict", err)
	}
	wantNoJob(t, s, other.ID)
	if _, err := s.IdempotentJob(ctx, idemKey("acme", "order-1", "h2")); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("IdempotentJob with another body: %v", err)
	}

	// Keys are per tenant, and escaped: none of these is order-1 of acme.
	for _, k := range []IdemKey{idemKey("other", "order-1", "h1"), idemKey("acme/order-1", "x", "h1"), idemKey("acme", "order-1/x", "h1"), idemKey("x/acme", "order-1", "h1")} {
		j := newJob(k.Tenant, time.Now())
		if got := mustCreateIdem(t, s, j, k, true); got.ID != j.ID {
			t.Fatalf("key %+v answered %s", k, got.ID)
		}
	}
	if _, err := s.IdempotentJob(ctx, idemKey("acme", "never-used", "h1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("IdempotentJob of a free key: %v, want ErrNotFound", err)
	}
	// The job is a job like any other, listed with the tenant's: first
	// and order-1/x's.
	list, _, err := s.List(ctx, ListOptions{Tenant: "acme"})
	if err != nil || len(list) != 2 || list[1].ID != first.ID {
		t.Fatalf("acme's jobs: %v, %v", list, err)
	}
}

func idemJobIDMustBeUnused(t *testing.T, _ backend, s idemContract) {
	ctx := testCtx(t)
	existing := mustCreate(t, s, newJob("acme", time.Now()))
	k := idemKey("acme", "k", "h")
	dup := existing.Clone()
	dup.Revision = 0
	if _, _, err := s.CreateIdempotent(ctx, dup, k); !errors.Is(err, ErrExists) {
		t.Fatalf("an id in use: %v, want ErrExists", err)
	}
	if _, err := s.IdempotentJob(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the key was taken by a refused create: %v", err)
	}
	queued := 0
	if err := s.ScanQueued(ctx, func(*jobs.Job) error { queued++; return nil }); err != nil || queued != 1 {
		t.Fatalf("queued %d, %v", queued, err)
	}
}

func idemClaim(t *testing.T, _ backend, s idemContract) {
	ctx := testCtx(t)
	cached := mustCreate(t, s, newJob("acme", time.Now()))
	another := mustCreate(t, s, newJob("acme", time.Now()))
	k := idemKey("acme", "k", "h")
	j, fresh, err := s.ClaimIdempotent(ctx, k, cached.ID)
	if err != nil || !fresh || j.ID != cached.ID || j.Revision != cached.Revision {
		t.Fatalf("claim = %+v, fresh %v, %v", j, fresh, err)
	}
	if j, fresh, err := s.ClaimIdempotent(ctx, k, another.ID); err != nil || fresh || j.ID != cached.ID {
		t.Fatalf("second claim = %+v, fresh %v, %v; want the first job", j, fresh, err)
	}
	if _, _, err := s.ClaimIdempotent(ctx, idemKey("acme", "k", "h2"), another.ID); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("claim with another body: %v", err)
	}
	nj := newJob("acme", time.Now())
	if got := mustCreateIdem(t, s, nj, k, false); got.ID != cached.ID {
		t.Fatalf("create under a claimed key answered %s", got.ID)
	}
	wantNoJob(t, s, nj.ID)

	missing := idemKey("acme", "k2", "h")
	if _, _, err := s.ClaimIdempotent(ctx, missing, jobs.NewID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claim for a missing job: %v", err)
	}
	if _, err := s.IdempotentJob(ctx, missing); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused claim took the key: %v", err)
	}
}

func idemInvalid(t *testing.T, _ backend, s idemContract) {
	ctx := testCtx(t)
	j := newJob("acme", time.Now())
	tests := []struct {
		name string
		op   func() error
	}{
		{"no tenant", func() error { _, _, err := s.CreateIdempotent(ctx, j, IdemKey{Key: "k", TTL: time.Hour}); return err }},
		{"no key", func() error {
			_, _, err := s.CreateIdempotent(ctx, j, IdemKey{Tenant: "acme", TTL: time.Hour})
			return err
		}},
		{"no TTL", func() error { _, _, err := s.CreateIdempotent(ctx, j, IdemKey{Tenant: "acme", Key: "k"}); return err }},
		{"another tenant's key", func() error { _, _, err := s.CreateIdempotent(ctx, j, idemKey("other", "k", "h")); return err }},
		{"bad job id", func() error {
			_, _, err := s.CreateIdempotent(ctx, &jobs.Job{ID: "a/b", Tenant: "acme"}, idemKey("acme", "k", "h"))
			return err
		}},
		{"claim without TTL", func() error { _, _, err := s.ClaimIdempotent(ctx, IdemKey{Tenant: "acme", Key: "k"}, j.ID); return err }},
		{"claim of an empty id", func() error { _, _, err := s.ClaimIdempotent(ctx, idemKey("acme", "k", "h"), ""); return err }},
		{"lookup without key", func() error { _, err := s.IdempotentJob(ctx, IdemKey{Tenant: "acme", TTL: time.Hour}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	wantNoJob(t, s, j.ID)
}

func idemConcurrent(t *testing.T, _ backend, s idemContract) {
	ctx := testCtx(t)
	k := idemKey("acme", "k", "h")
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[jobs.ID]int{}
		created int
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, c, err := s.CreateIdempotent(ctx, newJob("acme", time.Now()), k)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[j.ID]++
			if c {
				created++
			}
		}()
	}
	wg.Wait()
	if created != 1 || len(ids) != 1 {
		t.Fatalf("%d created, answers %v; want one job for all", created, ids)
	}
	list, _, err := s.List(ctx, ListOptions{Tenant: "acme"})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d jobs (%v), want 1", len(list), err)
	}
}

// idemExpire: a key is held for its TTL, then free. Memory runs on a fake
// clock; etcd on a one-second lease, polled.
func idemExpire(t *testing.T, b backend, s idemContract) {
	ctx := testCtx(t)
	k := idemKey("acme", "k", "h")
	var fake *clock.Fake
	if m, ok := s.(*Memory); ok {
		fake = clock.NewFake(time.Now())
		m.setIdemClock(fake)
	} else {
		k.TTL = time.Second
	}
	start := time.Now()
	first := mustCreateIdem(t, s, newJob("acme", time.Now()), k, true)
	if fake != nil {
		fake.Advance(k.TTL - time.Nanosecond)
		if held, err := s.IdempotentJob(ctx, k); err != nil || held.ID != first.ID {
			t.Fatalf("just before the TTL: %v, %v", held, err)
		}
		fake.Advance(time.Nanosecond)
	} else {
		for {
			_, err := s.IdempotentJob(ctx, k)
			if errors.Is(err, ErrNotFound) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Since(start) > 15*time.Second {
				t.Fatalf("the key is still held %s after it was taken with a TTL of %s", time.Since(start), k.TTL)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if held := time.Since(start); held < k.TTL {
			t.Fatalf("the key was free after %s, before its TTL of %s", held, k.TTL)
		}
	}
	if _, err := s.IdempotentJob(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the TTL: %v, want ErrNotFound", err)
	}
	// Free for any body, and the old job stays.
	k.BodyHash = "another"
	second := mustCreateIdem(t, s, newJob("acme", time.Now()), k, true)
	if second.ID == first.ID {
		t.Fatal("the expired key answered its old job")
	}
	if _, err := s.Get(ctx, first.ID); err != nil {
		t.Fatalf("the job of an expired key: %v", err)
	}
}

func idemCanceledContext(t *testing.T, _ backend, s idemContract) {
	existing := mustCreate(t, s, newJob("acme", time.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := idemKey("acme", "k", "h")
	j := newJob("acme", time.Now())
	ops := map[string]func() error{
		"create": func() error { _, _, err := s.CreateIdempotent(ctx, j, k); return err },
		"claim":  func() error { _, _, err := s.ClaimIdempotent(ctx, k, existing.ID); return err },
		"lookup": func() error { _, err := s.IdempotentJob(ctx, k); return err },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with a canceled context: %v", name, err)
		}
	}
	if _, err := s.IdempotentJob(testCtx(t), k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the key after canceled requests: %v", err)
	}
	wantNoJob(t, s, j.ID)
}

// TestIdempotencyLeases: keys written together share one lease that
// outlives their TTL by at most a slice; a lease that disappears is
// replaced.
func TestIdempotencyLeases(t *testing.T) {
	ctx := testCtx(t)
	s := newStore(t)
	lease := func(k IdemKey) clientv3.LeaseID {
		t.Helper()
		resp, err := s.cli.Get(ctx, s.keys.idem(k.Tenant, k.Key))
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("key %s: %v, %v", k.Key, resp, err)
		}
		return clientv3.LeaseID(resp.Kvs[0].Lease)
	}
	ttl := 24 * time.Hour
	a, b := idemKey("acme", "a", "h"), idemKey("acme", "b", "h")
	a.TTL, b.TTL = ttl, ttl
	var la, lb clientv3.LeaseID
	for range 3 { // two writes may straddle a slice boundary, not three times over
		mustCreateIdem(t, s, newJob("acme", time.Now()), a, true)
		mustCreateIdem(t, s, newJob("acme", time.Now()), b, true)
		if la, lb = lease(a), lease(b); la == lb {
			break
		}
		a.Key, b.Key = a.Key+"'", b.Key+"'"
	}
	if la == 0 || la != lb {
		t.Fatalf("leases %x and %x, want one shared", la, lb)
	}
	tl, err := s.cli.TimeToLive(ctx, la)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Duration(tl.TTL) * time.Second; left < ttl-5*time.Second || left > ttl+leaseSlice(ttl)+5*time.Second {
		t.Fatalf("the lease has %s left, want %s to %s", left, ttl, ttl+leaseSlice(ttl))
	}

	// A revoked lease takes its keys with it; the next key gets a new one.
	if _, err := s.cli.Revoke(ctx, la); err != nil {
		t.Fatal(err)
	}
	c := idemKey("acme", "c", "h")
	c.TTL = ttl
	mustCreateIdem(t, s, newJob("acme", time.Now()), c, true)
	if lc := lease(c); lc == 0 || lc == la {
		t.Fatalf("lease after a revoke: %x (revoked %x)", lc, la)
	}
}

func TestSliceEnd(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	tests := []struct {
		ttl  time.Duration
		want time.Time
	}{
		{24 * time.Hour, time.Date(2026, 1, 3, 3, 5, 0, 0, time.UTC)},
		{time.Hour, time.Date(2026, 1, 2, 4, 5, 0, 0, time.UTC)},
		{10 * time.Minute, time.Date(2026, 1, 2, 3, 14, 10, 0, time.UTC)},
		{time.Second, time.Date(2026, 1, 2, 3, 4, 7, 0, time.UTC)},
	}
	for _, tt := range tests {
		got := sliceEnd(at, tt.ttl)
		if !got.Equal(tt.want) {
			t.Errorf("sliceEnd(%s) = %s, want %s", tt.ttl, got, tt.want)
		}
		if got.Before(at.Add(tt.ttl)) || got.Sub(at.Add(tt.ttl)) > leaseSlice(tt.ttl) {
			t.Errorf("sliceEnd(%s) = %s: not within a slice after the TTL", tt.ttl, got)
		}
	}
	if end := sliceEnd(time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), time.Hour); !end.Equal(time.Date(2026, 1, 2, 4, 4, 0, 0, time.UTC)) {
		t.Errorf("on a boundary: %s", end)
	}
}
