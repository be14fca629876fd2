package jobstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

type bulk interface {
	contract
	CreateMany(ctx context.Context, js []*jobs.Job) ([]*jobs.Job, error)
	GetMany(ctx context.Context, ids []jobs.ID) ([]*jobs.Job, int64, error)
}

var (
	_ bulk = (*Store)(nil)
	_ bulk = (*Memory)(nil)
)

// TestCreateManyGetMany runs the bulk calls against both stores: more jobs
// than one transaction holds are created, listed, queued and read back at
// one revision, and an id in use refuses its chunk.
func TestCreateManyGetMany(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.new(t).(bulk)
			ctx := testCtx(t)
			now := time.Now().UTC()
			var in []*jobs.Job
			for i := range 100 {
				j := newJob("bulk", now.Add(time.Duration(i)*time.Microsecond))
				j.BatchID = "bat_x"
				in = append(in, j)
			}
			created, err := s.CreateMany(ctx, in)
			if err != nil || len(created) != len(in) {
				t.Fatalf("created %d, %v", len(created), err)
			}
			ids := make([]jobs.ID, 0, len(in)+1)
			for i, c := range created {
				if c.ID != in[i].ID || c.Revision <= 0 || in[i].Revision != 0 {
					t.Fatalf("created[%d] = %s at %d", i, c.ID, c.Revision)
				}
				ids = append(ids, c.ID)
			}
			missing := jobs.NewID()
			ids = append(ids, missing)
			got, rev, err := s.GetMany(ctx, ids)
			if err != nil || len(got) != len(ids) || got[len(ids)-1] != nil {
				t.Fatalf("GetMany: %d, %v", len(got), err)
			}
			for i, j := range got[:len(in)] {
				if j == nil || j.ID != in[i].ID || j.BatchID != "bat_x" || j.Revision > rev {
					t.Fatalf("got[%d] = %+v (rev %d)", i, j, rev)
				}
			}
			queued := 0
			s.ScanQueued(ctx, func(j *jobs.Job) error {
				if j.Tenant == "bulk" {
					queued++
				}
				return nil
			})
			list, _, _ := s.List(ctx, ListOptions{Tenant: "bulk", Limit: 100})
			if queued != 100 || len(list) != 100 || list[0].ID != in[99].ID {
				t.Fatalf("queued %d, listed %d", queued, len(list))
			}
			// A watch from after the read misses nothing that follows.
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			events, err := s.WatchJobs(wctx, rev+1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, in[5].ID, func(j *jobs.Job) error { j.Progress = 0.5; return nil }); err != nil {
				t.Fatal(err)
			}
			select {
			case ev := <-events:
				if ev.Job.ID != in[5].ID {
					t.Fatalf("first change after the read: %s", ev.Job.ID)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no change after the read")
			}

			again := []*jobs.Job{newJob("bulk", now), in[0]}
			if _, err := s.CreateMany(ctx, again); !errors.Is(err, ErrExists) {
				t.Fatalf("an id in use: %v", err)
			}
			if _, err := s.Get(ctx, again[0].ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("the chunk with an id in use was written: %v", err)
			}
			if _, err := s.CreateMany(ctx, []*jobs.Job{again[0], again[0]}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("one id twice: %v", err)
			}
		})
	}
}
