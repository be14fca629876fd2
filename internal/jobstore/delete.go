package jobstore

import (
	"context"
	"fmt"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Delete removes a job: its record, its tenant index entry and its queued
// marker, in one transaction that requires the record to be still at
// j.Revision (ErrConflict otherwise, ErrNotFound when it is gone already,
// which a retrying caller may take as done). j must be the record as read
// from the store: its Tenant and CreatedAt name the index entry. With a
// term in ctx (WithTerm) the deletion is fenced as every other write is
// (ErrDeposed). Watchers see it: WatchJobs sends an Event with Deleted set,
// and Watch of the job ends.
func (s *Store) Delete(ctx context.Context, j *jobs.Job) error {
	if err := checkID(j.ID); err != nil {
		return err
	}
	if j.Revision <= 0 {
		return fmt.Errorf("%w: %s: no revision to compare", ErrConflict, j.ID)
	}
	fence, readTerm, term, fenced := termCmp(ctx)
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	key := s.keys.job(j.ID)
	start := time.Now()
	resp, err := s.cli.Txn(ctx).
		If(append(fence, clientv3.Compare(clientv3.ModRevision(key), "=", j.Revision))...).
		Then(clientv3.OpDelete(key), clientv3.OpDelete(s.keys.index(j)), clientv3.OpDelete(s.keys.queued(j.ID))).
		Else(append([]clientv3.Op{clientv3.OpGet(key, clientv3.WithKeysOnly())}, readTerm...)...).
		Commit()
	observe("delete", start, err)
	if err != nil {
		return classify("delete "+string(j.ID), err)
	}
	if resp.Succeeded {
		return nil
	}
	if fenced {
		if err := deposed(term, resp, 1); err != nil {
			return err
		}
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, j.ID)
	}
	return fmt.Errorf("%w: %s is at revision %d, the deletion was based on %d", ErrConflict, j.ID, kvs[0].ModRevision, j.Revision)
}

// Delete implements the store contract: see Store.Delete. The deletion is
// a change at the next revision, with no data, which watchers receive.
func (m *Memory) Delete(ctx context.Context, j *jobs.Job) error {
	if err := checkID(j.ID); err != nil {
		return err
	}
	if j.Revision <= 0 {
		return fmt.Errorf("%w: %s: no revision to compare", ErrConflict, j.ID)
	}
	if err := ctx.Err(); err != nil {
		return classify("delete "+string(j.ID), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkTermLocked(ctx); err != nil {
		return err
	}
	r, ok := m.records[j.ID]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", ErrNotFound, j.ID)
	case r.revision != j.Revision:
		return fmt.Errorf("%w: %s is at revision %d, the deletion was based on %d", ErrConflict, j.ID, r.revision, j.Revision)
	}
	delete(m.records, j.ID)
	m.rev++
	ch := memChange{id: j.ID, revision: m.rev} // no data: a deletion
	m.history = append(m.history, ch)
	if len(m.history) > maxHistory {
		drop := len(m.history) - maxHistory/2
		m.compacted = m.history[drop-1].revision
		m.history = append([]memChange(nil), m.history[drop:]...)
	}
	for s := range m.subs {
		s.addLocked(ch)
	}
	return nil
}
