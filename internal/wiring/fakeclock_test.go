package wiring

import (
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/jobs"
)

// The heartbeat timers run on the injected clock: a silent worker is
// declared lost exactly when the fake clock passes its TTL, not before,
// however long the test really waits.
func TestScheduler_LostWorkerRequeuedOnFakeClock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	fake := clock.NewFake(time.Now())
	cfg := testConfig(t)
	cfg.Clock = fake
	cfg.Workers = 1
	cfg.Scheduler.HeartbeatTTL, cfg.Scheduler.HeartbeatGrace, cfg.Scheduler.HeartbeatJitter = 30*time.Second, 5*time.Second, 0
	cfg.Scheduler.BackoffBase, cfg.Scheduler.BackoffMax = 10*time.Second, 10*time.Second
	cfg.Renderer = NoopRenderer{Delay: time.Hour} // holds the job until killed
	s := start(t, cfg)
	j := submitJob(t, s, smallJob)
	waitFor(t, 10*time.Second, "the job to run", func() bool { return len(s.Workers[0].Worker.Running()) == 1 })
	s.Workers[0].Kill()
	s.cfg.Renderer = NoopRenderer{}
	if _, err := s.AddWorker(); err != nil { // a healthy worker joins
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // real time passes; fake time does not
	if got := get(t, s, j.ID); got.Status != jobs.Running || got.Attempts != 1 {
		t.Fatalf("the job moved before the TTL passed on the clock: %s", got.Status)
	}
	fake.Advance(34 * time.Second) // not yet: TTL 30s + grace 5s
	time.Sleep(100 * time.Millisecond)
	if got := get(t, s, j.ID); got.Status != jobs.Running {
		t.Fatalf("declared lost before TTL+grace: %s", got.Status)
	}
	fake.Advance(2 * time.Second)
	waitFor(t, 5*time.Second, "the job to be requeued", func() bool {
		g := get(t, s, j.ID)
		return g.Status == jobs.Queued && g.Error != nil && g.Error.Code == "WORKER_LOST"
	})
	time.Sleep(200 * time.Millisecond)
	if got := get(t, s, j.ID); got.Status != jobs.Queued {
		t.Fatalf("dispatched before its 10s backoff passed on the clock: %s", got.Status)
	}
	fake.Advance(10 * time.Second)
	waitTerminal(t, s, 10*time.Second, j.ID)
	if got := get(t, s, j.ID); got.Status != jobs.Succeeded || got.Attempts != 2 || got.Completions != 1 {
		t.Fatalf("job %+v", got)
	}
}
