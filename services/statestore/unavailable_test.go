package statestore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stickerd/stickerd/services/jobs"
	"github.com/stickerd/stickerd/services/kv/kvtest"
)

func TestStore_UnavailableWhenOnlyMemberStopped(t *testing.T) {
	c := kvtest.StartCluster(t, 1)
	s := New(c.Client(), "")
	j := mustCreate(t, s, newJob("acme", time.Now()))
	c.Kill(0)
	tests := []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, err := s.Get(ctx, j.ID); return err }},
		{"create", func(ctx context.Context) error { _, err := s.Create(ctx, newJob("acme", time.Now())); return err }},
		{"cas", func(ctx context.Context) error { _, err := s.CAS(ctx, j); return err }},
		{"update", func(ctx context.Context) error {
			_, err := s.Update(ctx, j.ID, func(*jobs.Job) error { return nil })
			return err
		}},
		{"list", func(ctx context.Context) error { _, _, err := s.List(ctx, ListOptions{Tenant: "acme"}); return err }},
		{"scan", func(ctx context.Context) error { return s.Scan(ctx, func(*jobs.Job) error { return nil }) }},
		{"revision", func(ctx context.Context) error { _, err := s.Revision(ctx); return err }},
		{"watch", func(ctx context.Context) error { _, err := s.Watch(ctx, j.ID); return err }},
		{"watch jobs from now", func(ctx context.Context) error { _, err := s.WatchJobs(ctx, 0); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := tt.op(ctx)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s with a 300ms deadline", d)
			}
		})
	}
	t.Run("caller cancel is not unavailability", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if _, err := s.Get(ctx, j.ID); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
}
