package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	all := []Status{Queued, Running, Succeeded, Failed, Canceled}
	legal := map[[2]Status]bool{
		{Queued, Running}: true, {Queued, Canceled}: true, {Queued, Failed}: true,
		{Running, Succeeded}: true, {Running, Failed}: true, {Running, Canceled}: true, {Running, Queued}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := CanTransition(from, to); got != legal[[2]Status{from, to}] {
				t.Errorf("%s → %s allowed=%v", from, to, got)
			}
		}
	}
}

func TestJob_Lifecycle(t *testing.T) {
	now := time.Unix(1000, 0)
	j := &Job{ID: NewID(), Status: Queued}
	if err := j.Assign("w1", 7, now); err != nil || j.Attempts != 1 || *j.Worker != "w1" {
		t.Fatalf("assign: %v %+v", err, j)
	}
	if err := j.Succeed(6, Output{}, now); !errors.Is(err, ErrStaleFence) {
		t.Fatalf("stale completion accepted: %v", err)
	}
	if err := j.Requeue(Error{Code: "WORKER_LOST"}, now.Add(time.Second)); err != nil || j.Worker != nil || j.Fence != 0 {
		t.Fatalf("requeue: %v %+v", err, j)
	}
	if err := j.Succeed(7, Output{}, now); !errors.Is(err, ErrStaleFence) {
		t.Fatal("completion of the old assignment accepted after requeue")
	}
	if err := j.Assign("w2", 9, now); err != nil || j.Attempts != 2 {
		t.Fatalf("second assign: %v %+v", err, j)
	}
	if err := j.Succeed(9, Output{Bytes: 10}, now); err != nil || j.Status != Succeeded || j.Completions != 1 || j.FinishedAt == nil {
		t.Fatalf("succeed: %v %+v", err, j)
	}
	if err := j.Succeed(9, Output{}, now); err == nil {
		t.Fatal("second completion accepted")
	}
	if err := j.Cancel(now); !errors.Is(err, ErrTransition) {
		t.Fatal("terminal job canceled")
	}
}

func TestNewID(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b || !strings.HasPrefix(string(a), "job_") || len(a) != 20 {
		t.Fatalf("ids %s %s", a, b)
	}
}

func TestClone_Deep(t *testing.T) {
	w := "w"
	j := &Job{Worker: &w, Metadata: map[string]string{"a": "b"}, Spec: []byte(`{}`)}
	c := j.Clone()
	*c.Worker, c.Metadata["a"], c.Spec[0] = "x", "y", '['
	if *j.Worker != "w" || j.Metadata["a"] != "b" || j.Spec[0] != '{' {
		t.Fatal("clone shares memory")
	}
}

func TestAssetIDs(t *testing.T) {
	j := &Job{Spec: []byte(`{"source":{"asset_id":"ast_src"},"stickers":[{"asset_id":"ast_a"},{"font":"ast_f","text":"ast_ not an id!"}]}`)}
	got := j.AssetIDs()
	want := map[string]bool{"ast_src": true, "ast_a": true, "ast_f": true}
	if len(got) != 3 {
		t.Fatalf("%v", got)
	}
	for _, id := range got {
		if !want[id] {
			t.Fatalf("%v", got)
		}
	}
}
