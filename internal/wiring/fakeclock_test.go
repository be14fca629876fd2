package wiring

import (
	"context"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/jobs"
)

// The heartbeat timers run on the injected clock, end to end through etcd,
// Kafka and real workers: a silent worker is declared lost exactly when
// the fake clock passes its TTL, not before, and its job waits out its
// backoff on that clock. Nothing sleeps: the fake clock's timers fire
// inside Advance, and the test waits for the timers the scheduler arms.
// (scheduler's TestHeartbeatLoss_RequeuesWithBackoff is the fast version.)
func TestScheduler_LostWorkerRequeuedOnFakeClock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	fake := clock.NewFake(time.Now())
	cfg := testConfig(t)
	cfg.Clock = fake
	cfg.Workers = 1
	ttl := 35 * time.Second
	cfg.Scheduler.HeartbeatTTL, cfg.Scheduler.HeartbeatGrace, cfg.Scheduler.HeartbeatJitter = 30*time.Second, 5*time.Second, 0
	cfg.Scheduler.BackoffBase, cfg.Scheduler.BackoffMax = 10*time.Second, 10*time.Second
	cfg.Renderer = NoopRenderer{Delay: time.Hour} // holds the job until killed
	s := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wait := func(at time.Time, what string) {
		t.Helper()
		if err := fake.BlockUntilDeadline(ctx, at); err != nil {
			t.Fatalf("the scheduler never armed %s for %v (armed %v)", what, at, fake.Deadlines())
		}
	}
	j := submitJob(t, s, smallJob)
	waitFor(t, 10*time.Second, "the job to run", func() bool { return len(s.Workers[0].Worker.Running()) == 1 })
	victim := s.Workers[0].Worker.ID()
	s.Workers[0].Kill()
	s.cfg.Renderer = NoopRenderer{}
	healthy, err := s.AddWorker() // a healthy worker joins; it beats in real time
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "only the healthy worker connected", func() bool {
		ws := s.Leader().Scheduler.Workers()
		return len(ws) == 1 && ws[0] == healthy.Worker.ID()
	})
	// The victim's timer is due at registration+TTL on the fake clock,
	// which has not moved: the job is where it was.
	start := fake.Now()
	if got := get(t, s, j.ID); got.Status != jobs.Running || got.Attempts != 1 || *got.Worker != victim {
		t.Fatalf("the job moved before the clock did: %+v", got)
	}
	fake.Advance(34 * time.Second) // not yet: TTL 30s + grace 5s
	if got := get(t, s, j.ID); got.Status != jobs.Running {
		t.Fatalf("declared lost before TTL+grace: %s", got.Status)
	}
	// The healthy worker's next beat re-arms its timer from the new time.
	wait(fake.Now().Add(ttl), "the healthy worker's timer")
	fake.Advance(2 * time.Second) // the victim's timer fires inside Advance
	got := get(t, s, j.ID)
	if got.Status != jobs.Queued || got.Error == nil || got.Error.Code != "WORKER_LOST" || got.NotBefore == nil {
		t.Fatalf("after TTL+grace: %+v", got)
	}
	if want := start.Add(ttl + 10*time.Second); !got.NotBefore.Equal(want) {
		t.Fatalf("retry not before %v, want lost time + 10s backoff = %v", got.NotBefore, want)
	}
	// The dispatcher has seen the job and armed its release on the fake
	// clock: it waits, though the healthy worker is free.
	wait(*got.NotBefore, "the backoff release")
	if got := get(t, s, j.ID); got.Status != jobs.Queued {
		t.Fatalf("dispatched before its 10s backoff passed on the clock: %s", got.Status)
	}
	fake.Advance(10 * time.Second)
	waitTerminal(t, s, 10*time.Second, j.ID)
	if got := get(t, s, j.ID); got.Status != jobs.Succeeded || got.Attempts != 2 || got.Completions != 1 || *got.Worker != healthy.Worker.ID() {
		t.Fatalf("job %+v", got)
	}
}
