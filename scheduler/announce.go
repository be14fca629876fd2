package scheduler

import (
	"context"
	"errors"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
)

// The announcement cursor closes the gap a leader change leaves: a state
// change that a leader committed but died before announcing is announced
// by its successor. The leader records in etcd (fenced by its term) the
// revision up to which every state change of the job records has been
// announced and its event published; a new leader's watch starts from that
// cursor rather than from its own recovery revision, announcing the
// changes in between once. Announcements are at least once: a change
// published just before a leader died may be published again.

// cursorName is the announcement cursor's name in the store.
const cursorName = "announced"

// cursorStore is what the cursor needs of the store; both jobstore stores
// have it. Without it, a term announces from its recovery revision.
type cursorStore interface {
	Cursor(ctx context.Context, name string) (int64, error)
	AdvanceCursor(ctx context.Context, name string, rev int64) error
}

// announceFrom returns the revision the term's watch starts after and an
// announcer that knows what was announced before it: the jobs not ended
// whose record is not newer than the cursor.
func (s *Scheduler) announceFrom(ctx context.Context, recovered int64, known []*jobs.Job) (int64, *announcer) {
	from := recovered
	if cs, ok := s.store.(cursorStore); ok {
		cur, err := cs.Cursor(ctx, cursorName)
		switch {
		case err != nil:
			s.log.Warn("announcement cursor unreadable; announcing from the recovery revision", "err", err)
		case cur > 0 && cur < recovered:
			from = cur
		}
	}
	a := &announcer{from: from}
	for _, j := range known {
		if j.Revision <= from {
			a.changed(j) // announced before this term
		}
	}
	s.watched.Store(from)
	s.published.Store(from)
	s.dropped.Store(false)
	if from < recovered {
		s.log.Info("announcing state changes a previous term left unannounced", "from", from, "to", recovered)
	}
	return from, a
}

// advanceCursor records how far this term has announced: the last
// revision the watch handled when no event is on its way to Kafka, else
// the last one published. It stops after an event was dropped.
func (s *Scheduler) advanceCursor(ctx context.Context) {
	cs, ok := s.store.(cursorStore)
	if !ok || s.dropped.Load() {
		return
	}
	rev := s.watched.Load()
	if s.inflight.Load() != 0 {
		rev = s.published.Load()
	}
	if rev <= 0 {
		return
	}
	if err := cs.AdvanceCursor(ctx, cursorName, rev); err != nil {
		if errors.Is(err, jobstore.ErrDeposed) {
			s.deposed("announcement cursor", "", err)
			return
		}
		s.log.Debug("announcement cursor not advanced", "err", err)
	}
}
