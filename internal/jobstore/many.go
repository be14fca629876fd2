package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Bulk limits: etcd refuses a transaction of more than 128 operations
// (--max-txn-ops), and a request over 1.5 MiB (--max-request-bytes).
const (
	maxTxnOps = 128
	// createChunk is the jobs one CreateMany transaction writes: three
	// puts each (record, index entry, queued entry).
	createChunk = maxTxnOps / 3
	// maxChunkBytes keeps a chunk's records well under the request limit.
	maxChunkBytes = 1 << 20
	// bulkParallel is how many of a bulk call's transactions are in flight
	// at once.
	bulkParallel = 8
)

// CreateMany stores new jobs (a batch's rows) as Create does each, in
// transactions of up to 42 jobs (etcd's 128-operation limit), several in
// flight at once: a thousand jobs take 24 transactions, not a thousand.
// Each transaction requires its ids to be unused (ErrExists otherwise)
// and writes all of its jobs or none; jobs of different transactions are
// not atomic together, so on an error some chunks may have been written:
// created lists the jobs known to be stored (with their revisions), in
// the order given.
func (s *Store) CreateMany(ctx context.Context, js []*jobs.Job) (created []*jobs.Job, err error) {
	cs, err := prepareMany(js)
	if err != nil {
		return nil, err
	}
	chunks := chunkJobs(cs)
	ok := make([]bool, len(chunks))
	errs := make([]error, len(chunks))
	sem := make(chan struct{}, bulkParallel)
	var wg sync.WaitGroup
	for i, ch := range chunks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ok[i], errs[i] = s.createChunk(ctx, ch)
		}()
	}
	wg.Wait()
	for i, ch := range chunks {
		if ok[i] {
			created = append(created, ch.jobs...)
		} else if err == nil {
			err = errs[i]
		}
	}
	return created, err
}

type chunk struct {
	jobs []*jobs.Job
	data [][]byte
}

// prepareMany checks and copies the jobs, stamping CreatedAt.
func prepareMany(js []*jobs.Job) ([]*jobs.Job, error) {
	now := time.Now().UTC()
	seen := make(map[jobs.ID]bool, len(js))
	out := make([]*jobs.Job, len(js))
	for i, j := range js {
		if err := checkID(j.ID); err != nil {
			return nil, err
		}
		if seen[j.ID] {
			return nil, fmt.Errorf("%w: %s twice in one call", ErrInvalid, j.ID)
		}
		seen[j.ID] = true
		c := j.Clone()
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		out[i] = c
	}
	return out, nil
}

func chunkJobs(js []*jobs.Job) []chunk {
	var out []chunk
	var cur chunk
	size := 0
	for _, j := range js {
		data, _ := json.Marshal(j)
		if len(cur.jobs) == createChunk || (len(cur.jobs) > 0 && size+len(data) > maxChunkBytes) {
			out = append(out, cur)
			cur, size = chunk{}, 0
		}
		cur.jobs = append(cur.jobs, j)
		cur.data = append(cur.data, data)
		size += len(data)
	}
	if len(cur.jobs) > 0 {
		out = append(out, cur)
	}
	return out
}

func (s *Store) createChunk(ctx context.Context, ch chunk) (bool, error) {
	cmps := make([]clientv3.Cmp, 0, len(ch.jobs))
	ops := make([]clientv3.Op, 0, 3*len(ch.jobs))
	for i, j := range ch.jobs {
		key := s.keys.job(j.ID)
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
		ops = append(ops, clientv3.OpPut(key, string(ch.data[i])), clientv3.OpPut(s.keys.index(j), string(j.ID)), s.queuedOp(j))
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := time.Now()
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	observe("create many", start, err)
	if err != nil {
		return false, classify(fmt.Sprintf("create %d jobs", len(ch.jobs)), err)
	}
	if !resp.Succeeded {
		return false, fmt.Errorf("%w: one of %s… (%d jobs)", ErrExists, ch.jobs[0].ID, len(ch.jobs))
	}
	for _, j := range ch.jobs {
		j.Revision = resp.Header.Revision
	}
	return true, nil
}

// GetMany reads the jobs of ids, all at one revision of the store, which
// it returns: a watch from the revision after it misses no change. A job
// that does not exist is nil in its place. The reads go in transactions
// of 128, several in flight at once.
func (s *Store) GetMany(ctx context.Context, ids []jobs.ID) ([]*jobs.Job, int64, error) {
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return nil, 0, err
		}
	}
	out := make([]*jobs.Job, len(ids))
	if len(ids) == 0 {
		rev, err := s.Revision(ctx)
		return out, rev, err
	}
	// The first chunk fixes the revision the others read at.
	first := min(len(ids), maxTxnOps)
	rev, err := s.getChunk(ctx, ids[:first], out[:first], 0)
	if err != nil {
		return nil, 0, err
	}
	sem := make(chan struct{}, bulkParallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for lo := first; lo < len(ids); lo += maxTxnOps {
		hi := min(lo+maxTxnOps, len(ids))
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := s.getChunk(ctx, ids[lo:hi], out[lo:hi], rev); err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, 0, firstErr
	}
	return out, rev, nil
}

func cmpErr(have, next error) error {
	if have != nil {
		return have
	}
	return next
}

func (s *Store) getChunk(ctx context.Context, ids []jobs.ID, out []*jobs.Job, rev int64) (int64, error) {
	ops := make([]clientv3.Op, len(ids))
	for i, id := range ids {
		if rev > 0 {
			ops[i] = clientv3.OpGet(s.keys.job(id), clientv3.WithRev(rev))
		} else {
			ops[i] = clientv3.OpGet(s.keys.job(id))
		}
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := time.Now()
	resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
	observe("get many", start, err)
	if err != nil {
		return 0, classify(fmt.Sprintf("get %d jobs", len(ids)), err)
	}
	for i, r := range resp.Responses {
		kvs := r.GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			continue
		}
		if out[i], err = decode(kvs[0]); err != nil {
			return 0, err
		}
	}
	return resp.Header.Revision, nil
}

// CreateMany implements the store contract: see Store.CreateMany. The
// Memory writes all the jobs or none.
func (m *Memory) CreateMany(ctx context.Context, js []*jobs.Job) ([]*jobs.Job, error) {
	cs, err := prepareMany(js)
	if err != nil {
		return nil, err
	}
	data := make([][]byte, len(cs))
	for i, c := range cs {
		if data[i], err = json.Marshal(c); err != nil {
			return nil, fmt.Errorf("jobstore: encode %s: %w", c.ID, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, classify("create many", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs {
		if _, ok := m.records[c.ID]; ok {
			return nil, fmt.Errorf("%w: %s", ErrExists, c.ID)
		}
	}
	for i, c := range cs {
		c.Revision = m.putLocked(c, data[i])
	}
	return cs, nil
}

// GetMany implements the store contract: see Store.GetMany.
func (m *Memory) GetMany(ctx context.Context, ids []jobs.ID) ([]*jobs.Job, int64, error) {
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return nil, 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, classify("get many", err)
	}
	m.mu.Lock()
	recs := make([]memRecord, len(ids))
	found := make([]bool, len(ids))
	for i, id := range ids {
		recs[i], found[i] = m.records[id]
	}
	rev := m.rev
	m.mu.Unlock()
	out := make([]*jobs.Job, len(ids))
	for i, id := range ids {
		if !found[i] {
			continue
		}
		j, err := m.decode(id, recs[i].data, recs[i].revision)
		if err != nil {
			return nil, 0, err
		}
		out[i] = j
	}
	return out, rev, nil
}
