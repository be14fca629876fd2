package jobs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTimings_Lifecycle(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	j := &Job{ID: NewID(), Status: Queued, CreatedAt: t0}
	if err := j.Assign("w1", 7, at(1)); err != nil {
		t.Fatal(err)
	}
	j.RecordPhases(Phases{Started: at(2), InputsFetched: at(3), Encoded: at(5)})
	// The attempt fails; the next one starts a fresh timeline after queued.
	if err := j.Requeue(Error{Code: "WORKER_LOST"}, at(6)); err != nil {
		t.Fatal(err)
	}
	if err := j.Assign("w2", 9, at(7)); err != nil {
		t.Fatal(err)
	}
	if j.Timings.Started != nil || j.Timings.Encoded != nil {
		t.Fatalf("a new attempt kept the old one's phases: %+v", j.Timings)
	}
	j.RecordPhases(Phases{Started: at(8), InputsFetched: at(9), Encoded: at(10), Stored: at(11)})
	if err := j.Succeed(9, Output{}, at(12)); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(j.Timeline())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"queued":"2026-01-02T03:04:05Z","assigned":"2026-01-02T03:04:12Z","started":"2026-01-02T03:04:13Z",` +
		`"inputs_fetched":"2026-01-02T03:04:14Z","encoded":"2026-01-02T03:04:15Z","stored":"2026-01-02T03:04:16Z","finished":"2026-01-02T03:04:17Z"}`
	if string(b) != want {
		t.Fatalf("timeline\n got %s\nwant %s", b, want)
	}
}

func TestTimings_CloneAndOldRecords(t *testing.T) {
	t0 := time.Unix(1000, 0).UTC()
	j := &Job{CreatedAt: t0}
	j.stampAssigned(t0.Add(time.Second))
	c := j.Clone()
	*c.Timings.Assigned = t0
	if !j.Timings.Assigned.Equal(t0.Add(time.Second)) {
		t.Fatal("clone shares the timeline")
	}
	// A record from before timings: its own fields give the timeline.
	started, finished := t0.Add(2*time.Second), t0.Add(3*time.Second)
	old := &Job{CreatedAt: t0, StartedAt: &started, FinishedAt: &finished}
	tl := old.Timeline()
	if !tl.Queued.Equal(t0) || !tl.Assigned.Equal(started) || !tl.Finished.Equal(finished) || tl.Stored != nil {
		t.Fatalf("timeline of an old record: %+v", tl)
	}
	if b, _ := json.Marshal((&Job{CreatedAt: t0}).Timeline()); strings.Contains(string(b), "assigned") {
		t.Fatalf("a queued job shows phases it has not reached: %s", b)
	}
}
