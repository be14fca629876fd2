package jobstore

import (
	"slices"
	"testing"

	"github.com/stickerd/stickerd/internal/jobs"
)

func TestQueue_KeepsEveryStatusChange(t *testing.T) {
	var pending []*jobs.Job
	for i, st := range []jobs.Status{jobs.Queued, jobs.Running, jobs.Running, jobs.Running, jobs.Queued, jobs.Running, jobs.Failed} {
		pending = queue(pending, &jobs.Job{Status: st, Revision: int64(i)})
	}
	var revs []int64
	for _, j := range pending {
		revs = append(revs, j.Revision)
	}
	if !slices.Equal(revs, []int64{0, 3, 4, 5, 6}) {
		t.Fatalf("kept revisions %v", revs)
	}
}
