package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TaskFunc changes a job and returns the task records to create with the
// change (jobs.Job.SplitInto, StartStitch), in the job's transaction.
type TaskFunc func(j *jobs.Job) ([]*jobs.Job, error)

// UpdateWithTasks is Update whose change creates task records (a split
// job's parts, its stitch) in the same transaction: the job's write and
// its tasks commit together or not at all, so no task exists without the
// record that counts it, and a job never counts a task that is missing.
// Tasks get no tenant index entry (clients never list them); queued ones
// get their queued marker. A task id in use already fails the write with
// ErrExists. Fenced by the term in ctx, as every write is.
func (s *Store) UpdateWithTasks(ctx context.Context, id jobs.ID, fn TaskFunc) (*jobs.Job, error) {
	return updateWithTasks(ctx, s, id, fn)
}

// UpdateWithTasks implements the store contract: see Store.UpdateWithTasks.
func (m *Memory) UpdateWithTasks(ctx context.Context, id jobs.ID, fn TaskFunc) (*jobs.Job, error) {
	return updateWithTasks(ctx, m, id, fn)
}

type taskStore interface {
	Get(ctx context.Context, id jobs.ID) (*jobs.Job, error)
	casWithTasks(ctx context.Context, j *jobs.Job, tasks []*jobs.Job) (*jobs.Job, error)
}

func updateWithTasks(ctx context.Context, s taskStore, id jobs.ID, fn TaskFunc) (*jobs.Job, error) {
	for try := 1; ; try++ {
		cur, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		next := cur.Clone()
		tasks, err := fn(next)
		if err != nil {
			return nil, err
		}
		if next.ID != cur.ID || next.Tenant != cur.Tenant || !next.CreatedAt.Equal(cur.CreatedAt) {
			return nil, fmt.Errorf("%w: update of %s changed its id, tenant or creation time", ErrInvalid, id)
		}
		for _, t := range tasks {
			if err := checkID(t.ID); err != nil {
				return nil, err
			}
			if t.Parent != id {
				return nil, fmt.Errorf("%w: task %s is not of job %s", ErrInvalid, t.ID, id)
			}
		}
		next.Revision = cur.Revision
		out, err := s.casWithTasks(ctx, next, tasks)
		if !errors.Is(err, ErrConflict) {
			return out, err
		}
		if try == updateTries {
			return nil, fmt.Errorf("%w: %s: gave up after %d tries", ErrConflict, id, updateTries)
		}
		if err := pause(ctx, try); err != nil {
			return nil, classify("update "+string(id), err)
		}
	}
}

func encodeTask(t *jobs.Job) (*jobs.Job, []byte, error) {
	c := t.Clone()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, nil, fmt.Errorf("jobstore: encode %s: %w", c.ID, err)
	}
	return c, data, nil
}

func (s *Store) casWithTasks(ctx context.Context, j *jobs.Job, tasks []*jobs.Job) (*jobs.Job, error) {
	c := j.Clone()
	fence, readTerm, term, fenced := termCmp(ctx)
	c.Term = term.Rev
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("jobstore: encode %s: %w", c.ID, err)
	}
	key := s.keys.job(c.ID)
	cmps := append(fence, clientv3.Compare(clientv3.ModRevision(key), "=", c.Revision))
	ops := []clientv3.Op{clientv3.OpPut(key, string(data)), s.queuedOp(c)}
	for _, t := range tasks {
		tc, tdata, err := encodeTask(t)
		if err != nil {
			return nil, err
		}
		tc.Term = term.Rev
		if tdata, err = json.Marshal(tc); err != nil {
			return nil, fmt.Errorf("jobstore: encode %s: %w", tc.ID, err)
		}
		tkey := s.keys.job(tc.ID)
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(tkey), "=", 0))
		ops = append(ops, clientv3.OpPut(tkey, string(tdata)), s.queuedOp(tc))
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := time.Now()
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).
		Else(append([]clientv3.Op{clientv3.OpGet(key, clientv3.WithKeysOnly())}, readTerm...)...).
		Commit()
	observe("tasks", start, err)
	if err != nil {
		return nil, classify("split "+string(c.ID), err)
	}
	if resp.Succeeded {
		c.Revision = resp.Header.Revision
		return c, nil
	}
	if err := casRefused(c, resp, term, fenced); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: a task of %s", ErrExists, c.ID) // the one compare left
}

func (m *Memory) casWithTasks(ctx context.Context, j *jobs.Job, tasks []*jobs.Job) (*jobs.Job, error) {
	c := j.Clone()
	c.Term = termIn(ctx).Rev
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("jobstore: encode %s: %w", c.ID, err)
	}
	type enc struct {
		j    *jobs.Job
		data []byte
	}
	encs := make([]enc, len(tasks))
	for i, t := range tasks {
		tc, _, err := encodeTask(t)
		if err != nil {
			return nil, err
		}
		tc.Term = c.Term
		td, err := json.Marshal(tc)
		if err != nil {
			return nil, fmt.Errorf("jobstore: encode %s: %w", tc.ID, err)
		}
		encs[i] = enc{tc, td}
	}
	if err := ctx.Err(); err != nil {
		return nil, classify("split "+string(c.ID), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.casCheckLocked(ctx, c); err != nil {
		return nil, err
	}
	for _, e := range encs {
		if _, ok := m.records[e.j.ID]; ok {
			return nil, fmt.Errorf("%w: a task of %s", ErrExists, c.ID)
		}
	}
	// One revision for the whole change, as etcd's transaction gives.
	js, ds := []*jobs.Job{c}, [][]byte{data}
	for _, e := range encs {
		js, ds = append(js, e.j), append(ds, e.data)
	}
	c.Revision = m.putAllLocked(js, ds)
	return c, nil
}
