package scheduler

import (
	"context"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
)

// Leadership is fenced (Kleppmann's fencing tokens, applied to the
// leader itself): the elector puts the term it won into the leader's
// context (jobstore.WithTerm), every write the leader makes carries it,
// and the store commits a write only while that term is current, in the
// same transaction. A replica deposed while paused can change nothing when
// it wakes, whatever its timers do; it also asks whether its term holds
// before acting on a heartbeat timer.

// fenced returns ctx carrying the leader's term, for writes made on
// behalf of a worker's report (whose context is the worker's stream).
func (s *Scheduler) fenced(ctx context.Context) context.Context {
	s.mu.Lock()
	lctx := s.leaderCtx
	s.mu.Unlock()
	if lctx == nil {
		return ctx
	}
	if t, ok := jobstore.TermOf(lctx); ok {
		return jobstore.WithTerm(ctx, t)
	}
	return ctx
}

// termValidator is the store's answer to "is this term still current?".
type termValidator interface {
	TermValid(ctx context.Context, t jobstore.Term) (bool, error)
}

// termHolds reports whether the leader's term (in ctx) is still current.
// A store that cannot answer counts as a yes: the writes are fenced anyway,
// and a leader that holds its term must not stop declaring lost workers
// because of one failed read.
func (s *Scheduler) termHolds(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	t, ok := jobstore.TermOf(ctx)
	tv, can := s.store.(termValidator)
	if !ok || !can {
		return true
	}
	valid, err := tv.TermValid(ctx, t)
	if err != nil || valid {
		return true
	}
	s.stats.deposed.Add(1)
	s.log.Warn("leadership term ended while this replica was not looking (paused?): not acting on expired timers", "term", t.Rev)
	return false
}

// deposed logs a write the store refused because this replica's term has
// ended; the election's watch ends the term's context soon after.
func (s *Scheduler) deposed(what string, id jobs.ID, err error) {
	s.stats.deposed.Add(1)
	s.log.Warn(what+" refused: this replica's leadership term has ended", "job", id, "err", err)
}
