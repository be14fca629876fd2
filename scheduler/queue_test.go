package scheduler

import (
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

func TestQueue_PriorityThenAgeAndBackoff(t *testing.T) {
	t0 := time.Unix(100, 0)
	q := newQueue()
	later := t0.Add(5 * time.Second)
	for _, j := range []*jobs.Job{
		{ID: "low", Priority: jobs.Low, CreatedAt: t0},
		{ID: "n2", Priority: jobs.Normal, CreatedAt: t0.Add(2)},
		{ID: "n1", Priority: jobs.Normal, CreatedAt: t0.Add(1)},
		{ID: "high", Priority: jobs.High, CreatedAt: t0.Add(9)},
		{ID: "retry", Priority: jobs.High, CreatedAt: t0, NotBefore: &later},
	} {
		q.push(j)
	}
	if q.push(&jobs.Job{ID: "n1"}) {
		t.Fatal("a job was queued twice")
	}
	q.promote(t0)
	var got []jobs.ID
	for q.peek() != nil {
		got = append(got, q.pop().id)
	}
	want := []jobs.ID{"high", "n1", "n2", "low"}
	if len(got) != len(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	if q.nextRelease() != later || q.len() != 1 {
		t.Fatal("the backed-off job is not waiting")
	}
	q.promote(later)
	if it := q.pop(); it.id != "retry" {
		t.Fatal(it.id)
	}
	q.push(&jobs.Job{ID: "x"})
	q.remove("x")
	if q.has("x") || q.len() != 0 {
		t.Fatal("remove failed")
	}
}
