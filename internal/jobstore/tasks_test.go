package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// taskStoreContract is UpdateWithTasks, which both stores have.
type taskStoreContract interface {
	contract
	UpdateWithTasks(ctx context.Context, id jobs.ID, fn TaskFunc) (*jobs.Job, error)
}

// TestUpdateWithTasks: a split writes the job and creates its tasks in
// one transaction, on both stores: the tasks are queued, carry the job's
// tenant and plan, are hidden from listings, and a second split (a
// resent report) creates nothing and leaves the first one's tasks.
func TestUpdateWithTasks(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.new(t).(taskStoreContract)
			ctx := testCtx(t)
			j := mustCreate(t, s, newJob("acme", time.Now().UTC()))
			var fence int64
			j, err := s.Update(ctx, j.ID, func(j *jobs.Job) error {
				fence = j.Revision
				return j.Assign("w1", fence, time.Now())
			})
			if err != nil {
				t.Fatal(err)
			}
			plan := json.RawMessage(`{"mode":"split","parts":[{},{},{}]}`)
			split := func(j *jobs.Job) ([]*jobs.Job, error) {
				return j.SplitInto(fence, plan, json.RawMessage(`{"mode":"split"}`), []float64{0.3, 0.3, 0.4}, time.Now())
			}
			before, _ := s.Revision(ctx)
			got, err := s.UpdateWithTasks(ctx, j.ID, split)
			if err != nil {
				t.Fatal(err)
			}
			if got.Split == nil || got.Split.Parts != 3 || got.Worker != nil || got.Status != jobs.Running {
				t.Fatalf("split job = %+v", got)
			}
			var queued []jobs.ID
			if err := s.ScanQueued(ctx, func(q *jobs.Job) error { queued = append(queued, q.ID); return nil }); err != nil {
				t.Fatal(err)
			}
			want := []jobs.ID{jobs.PartID(j.ID, 0), jobs.PartID(j.ID, 1), jobs.PartID(j.ID, 2)}
			slices.Sort(queued)
			if !slices.Equal(queued, want) {
				t.Fatalf("queued = %v, want %v", queued, want)
			}
			for i, id := range want {
				p, err := s.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if p.Parent != j.ID || p.Tenant != "acme" || p.Task == nil || p.Task.Kind != jobs.TaskPart || p.Task.Index != i ||
					string(p.Task.Plan) != string(plan) || p.Revision != got.Revision {
					t.Fatalf("part %d = %+v (job at revision %d)", i, p, got.Revision)
				}
			}
			if after, _ := s.Revision(ctx); after != before+1 {
				t.Fatalf("revision %d -> %d: the split took more than one transaction", before, after)
			}
			listed, _, err := s.List(ctx, ListOptions{Tenant: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			if len(listed) != 1 || listed[0].ID != j.ID {
				t.Fatalf("listing shows %d records, want the job alone", len(listed))
			}
			if _, err := s.UpdateWithTasks(ctx, j.ID, split); !errors.Is(err, jobs.ErrTransition) {
				t.Fatalf("second split: err = %v, want ErrTransition", err)
			}
			// A task id in use fails the whole write.
			other := mustCreate(t, s, newJob("acme", time.Now().UTC()))
			if _, err := s.Create(ctx, &jobs.Job{ID: jobs.PartID(other.ID, 1), Tenant: "acme", Status: jobs.Queued}); err != nil {
				t.Fatal(err)
			}
			other, _ = s.Update(ctx, other.ID, func(j *jobs.Job) error { fence = j.Revision; return j.Assign("w1", fence, time.Now()) })
			if _, err := s.UpdateWithTasks(ctx, other.ID, split); !errors.Is(err, ErrExists) {
				t.Fatalf("split over an existing task: err = %v, want ErrExists", err)
			}
			if o, _ := s.Get(ctx, other.ID); o.Split != nil {
				t.Fatal("the job was written although its tasks were not")
			}
			if _, err := s.Get(ctx, jobs.PartID(other.ID, 0)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("part 0 of the failed split: err = %v, want ErrNotFound", err)
			}
		})
	}
}
