package jobstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	"github.com/stickerd/stickerd/internal/jobs"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"deadline", context.DeadlineExceeded, true},
		{"no leader", rpctypes.ErrNoLeader, true},
		{"grpc no leader", rpctypes.ErrGRPCNoLeader, true},
		{"request timed out", rpctypes.ErrTimeout, true},
		{"connection refused", status.Error(codes.Unavailable, "connection refused"), true},
		{"too many requests", rpctypes.ErrTooManyRequests, true},
		{"canceled by caller", context.Canceled, false},
		{"compacted", rpctypes.ErrCompacted, false},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("op", fmt.Errorf("wrapped: %w", tt.err))
			if got := errors.Is(err, ErrUnavailable); got != tt.want {
				t.Fatalf("unavailable = %v for %v", got, err)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("cause lost: %v", err)
			}
		})
	}
}

func TestStore_UnavailableWhenOnlyMemberStopped(t *testing.T) {
	c := etcdtest.StartCluster(t, 1)
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
