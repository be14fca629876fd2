package scheduler

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"context"
	"math/rand/v2"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/metrics"

	"github.com/stickerd/stickerd/internal/jobs"
)

// ttl is how long the scheduler waits for a worker's next heartbeat: the
// TTL plus a grace period plus jitter, so that a fleet that paused
// together is not declared lost in one instant (Nomad's heartbeat timers).
func (s *Scheduler) ttl() time.Duration {
	d := s.cfg.HeartbeatTTL + s.cfg.HeartbeatGrace
	if s.cfg.HeartbeatJitter > 0 {
		d += time.Duration(rand.Int64N(int64(s.cfg.HeartbeatJitter)))
	}
	return d
}

// armLocked starts or resets the worker's heartbeat timer.
func (s *Scheduler) armLocked(w *worker) {
	if w.timer != nil {
		w.timer.Reset(s.ttl())
		return
	}
	w.timer = s.clock.AfterFunc(s.ttl(), func() { s.lost(w) })
}

// lost runs when a worker's heartbeat timer fires: the worker is dropped
// and each job it held goes back to the queue (or fails when out of
// attempts).
func (s *Scheduler) lost(w *worker) {
	s.mu.Lock()
	if s.workers[w.id] != w || !s.leading {
		s.mu.Unlock()
		return
	}
	ctx := s.leaderCtx
	s.mu.Unlock()
	// The timer may have fired because this replica was paused, not the
	// worker: a leader that slept past its lease must not act on what it
	// saw before. Ask the store whether the term still holds first.
	if !s.termHolds(ctx) {
		return
	}
	s.mu.Lock()
	if s.workers[w.id] != w || !s.leading {
		s.mu.Unlock()
		return
	}
	held := make(map[jobs.ID]int64, len(w.running))
	for id, fence := range w.running {
		held[id] = fence
	}
	s.dropLocked(w.id, w)
	s.mu.Unlock()
	s.stats.lost.Add(1)
	metrics.WorkersLost.Inc()
	metrics.HeartbeatsMissed.Inc()
	s.log.Warn("worker lost: no heartbeat", "worker", w.id, "jobs", len(held))
	for id, fence := range held {
		if fence == 0 {
			continue // the assignment write is in flight; assign requeues it
		}
		s.requeue(ctx, id, fence, "WORKER_LOST", "worker "+w.id+" stopped sending heartbeats", true)
	}
	s.poke()
}

// disconnectLocked marks a worker's stream gone; its jobs stay assigned
// until it re-registers or its heartbeat timer fires.
func (s *Scheduler) disconnectLocked(w *worker) {
	if w.send != nil {
		close(w.closed)
		w.send = nil
	}
}

// dropLocked forgets a worker entirely.
func (s *Scheduler) dropLocked(id string, w *worker) {
	s.disconnectLocked(w)
	if w.timer != nil {
		w.timer.Stop()
	}
	delete(s.workers, id)
	for _, g := range []*prometheus.GaugeVec{metrics.WorkerCPU, metrics.WorkerGPU, metrics.WorkerNVENC, metrics.WorkerJobs} {
		g.DeleteLabelValues(id)
	}
}

// requeue sends a job of a failed or lost assignment back to the queue
// after a backoff, or fails it: at once when the error is not worth
// retrying, with ATTEMPTS_EXHAUSTED (and the dead-letter topic) when the
// attempts are used up. A job whose cancellation was requested is canceled.
func (s *Scheduler) requeue(ctx context.Context, id jobs.ID, fence int64, code, msg string, retryable bool) {
	if ctx == nil {
		return
	}
	now := s.clock.Now()
	var j *jobs.Job
	err := s.retryStore(ctx, func() error {
		var err error
		j, err = s.store.Update(ctx, id, func(j *jobs.Job) error {
			if err := j.CheckFence(fence); err != nil {
				return errSkip
			}
			switch {
			case j.CancelRequested:
				return j.Cancel(now)
			case !retryable:
				return j.Fail(code, msg, now)
			case j.Attempts >= s.cfg.MaxAttempts:
				return j.Fail("ATTEMPTS_EXHAUSTED", "gave up after "+itoa(j.Attempts)+" attempts; last: "+code+": "+msg, now)
			}
			return j.Requeue(jobs.Error{Code: code, Message: msg}, now.Add(s.cfg.retry().Delay(j.Attempts)))
		})
		return err
	})
	switch {
	case errors.Is(err, jobstore.ErrDeposed):
		s.deposed("requeue", id, err)
		return
	case err != nil:
		if err != errSkip {
			s.log.Error("requeue failed; the next leader's recovery will retry", "job", id, "err", err)
		}
		return
	}
	s.finished(j)
}

// finished accounts for a job that reached a new state through one of the
// leader's writes: counters, its place in the queue, the leader's
// bookkeeping. What others are told (events, webhooks, error events, the
// dead-letter topic) follows from the committed record instead, through
// the watch (announce), so that a write that committed while its caller
// saw an error is announced all the same, and one that did not commit
// never is.
func (s *Scheduler) finished(j *jobs.Job) {
	switch j.Status {
	case jobs.Queued:
		s.stats.requeued.Add(1)
		s.enqueue(j)
	case jobs.Succeeded:
		s.stats.completed.Add(1)
	case jobs.Canceled:
		s.stats.canceled.Add(1)
	case jobs.Failed:
		s.stats.failed.Add(1)
		if j.Error != nil && j.Error.Code == "ATTEMPTS_EXHAUSTED" {
			s.stats.dlq.Add(1)
		}
	}
	s.mu.Lock()
	delete(s.progress, j.ID)
	delete(s.records, j.ID)
	s.mu.Unlock()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// reportError publishes the typed error a job now carries, when it failed
// or went back to the queue because of one.
func (s *Scheduler) reportError(j *jobs.Job) {
	if s.deps.Errors == nil || j.Error == nil || j.Status == jobs.Succeeded || j.Status == jobs.Canceled {
		return
	}
	err := errcode.New(errcode.Code(j.Error.Code), "%s", j.Error.Message)
	s.deps.Errors.Report(context.Background(), errevents.FromError("scheduler", err, string(j.ID), "", j.Tenant))
}
