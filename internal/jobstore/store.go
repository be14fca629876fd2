package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/backoff"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/metrics"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const (
	// defaultRequestTimeout bounds a request whose ctx has no deadline:
	// the etcd client waits for a connection as long as ctx allows, and a
	// caller that forgot a deadline must get ErrUnavailable, not a hang.
	defaultRequestTimeout = 5 * time.Second
	// updateTries bounds Update's compare-and-swap retries.
	updateTries = 16
)

// Store keeps jobs in etcd. It is safe for concurrent use; any number of
// Stores (in any number of processes) may share a prefix.
type Store struct {
	cli  *clientv3.Client
	keys keys
	// Page sizes, fields so that tests can page through a few records.
	scanPageSize, listScanLimit int
	// leases are the Idempotency-Keys' shared leases (idempotency.go),
	// shared by copies of the Store.
	leases *idemLeases
}

// New returns a store over cli with its records under prefix
// (DefaultPrefix when empty). The caller keeps ownership of cli.
func New(cli *clientv3.Client, prefix string) *Store {
	prefix = Prefix(prefix)
	return &Store{cli: cli, keys: keys{prefix: prefix}, scanPageSize: scanPageSize, listScanLimit: listScanLimit, leases: newIdemLeases()}
}

// Client is the etcd client the store uses (for leases and elections).
func (s *Store) Client() *clientv3.Client { return s.cli }

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultRequestTimeout)
}

// Create stores a new job and its index entry in one transaction that
// requires the id to be unused (ErrExists otherwise). A zero CreatedAt is
// set to now. It returns a copy with its Revision; j is not modified.
func (s *Store) Create(ctx context.Context, j *jobs.Job) (*jobs.Job, error) {
	if err := checkID(j.ID); err != nil {
		return nil, err
	}
	c := j.Clone()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("jobstore: encode %s: %w", c.ID, err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	key := s.keys.job(c.ID)
	start := time.Now()
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data)), clientv3.OpPut(s.keys.index(c), string(c.ID)), s.queuedOp(c)).
		Commit()
	observe("create", start, err)
	if err != nil {
		return nil, classify("create "+string(c.ID), err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("%w: %s", ErrExists, c.ID)
	}
	c.Revision = resp.Header.Revision
	return c, nil
}

// Get returns the job with its Revision, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	j, _, err := s.get(ctx, id)
	return j, err
}

// get also returns the store revision the read saw, where a watch of the
// record resumes.
func (s *Store) get(ctx context.Context, id jobs.ID) (*jobs.Job, int64, error) {
	if err := checkID(id); err != nil {
		return nil, 0, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := time.Now()
	resp, err := s.cli.Get(ctx, s.keys.job(id))
	observe("get", start, err)
	if err != nil {
		return nil, 0, classify("get "+string(id), err)
	}
	if len(resp.Kvs) == 0 {
		return nil, resp.Header.Revision, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	j, err := decode(resp.Kvs[0])
	return j, resp.Header.Revision, err
}

func decode(kv *mvccpb.KeyValue) (*jobs.Job, error) {
	var j jobs.Job
	if err := json.Unmarshal(kv.Value, &j); err != nil {
		return nil, fmt.Errorf("jobstore: decode %s: %w", kv.Key, err)
	}
	j.Revision = kv.ModRevision
	return &j, nil
}

// CAS writes j if the stored record's revision is still j.Revision, and
// returns the new copy with its new Revision. Otherwise it returns
// ErrConflict, or ErrNotFound when there is no such job. Tenant and
// CreatedAt place the index entry and must not change (Update checks it).
func (s *Store) CAS(ctx context.Context, j *jobs.Job) (*jobs.Job, error) {
	if err := checkID(j.ID); err != nil {
		return nil, err
	}
	if j.Revision <= 0 {
		return nil, fmt.Errorf("%w: %s: no revision to compare (use Create for a new job)", ErrConflict, j.ID)
	}
	c := j.Clone()
	fence, readTerm, term, fenced := termCmp(ctx)
	c.Term = term.Rev
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("jobstore: encode %s: %w", c.ID, err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	key := s.keys.job(c.ID)
	start := time.Now()
	resp, err := s.cli.Txn(ctx).
		If(append(fence, clientv3.Compare(clientv3.ModRevision(key), "=", c.Revision))...).
		Then(clientv3.OpPut(key, string(data)), s.queuedOp(c)).
		Else(append([]clientv3.Op{clientv3.OpGet(key, clientv3.WithKeysOnly())}, readTerm...)...).
		Commit()
	observe("cas", start, err)
	if err != nil {
		return nil, classify("cas "+string(c.ID), err)
	}
	if resp.Succeeded {
		c.Revision = resp.Header.Revision
		return c, nil
	}
	return nil, casRefused(c, resp, term, fenced)
}

// casRefused is why a compare-and-swap of c did not commit, from its
// transaction's Else reads (the record's key, then the term's): the term
// ended (ErrDeposed), the record is gone (ErrNotFound) or moved on
// (ErrConflict); nil when none of these, so another compare failed.
func casRefused(c *jobs.Job, resp *clientv3.TxnResponse, term Term, fenced bool) error {
	if fenced {
		if err := deposed(term, resp, 1); err != nil {
			return err
		}
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	switch {
	case len(kvs) == 0:
		return fmt.Errorf("%w: %s", ErrNotFound, c.ID)
	case kvs[0].ModRevision != c.Revision:
		return fmt.Errorf("%w: %s is at revision %d, the write was based on %d", ErrConflict, c.ID, kvs[0].ModRevision, c.Revision)
	}
	return nil
}

// Update applies fn to a copy of the current record and writes it with a
// compare-and-swap; when another writer got there first it waits a short
// jittered while, re-reads and applies fn again, up to 16 tries in all. fn
// may run several times and must only change the job it is given. An error
// from fn aborts the update and is returned as is.
func (s *Store) Update(ctx context.Context, id jobs.ID, fn func(*jobs.Job) error) (*jobs.Job, error) {
	return s.update(ctx, id, nil, fn)
}

// UpdateFrom is Update starting from a record the caller already holds
// (from a watch event or its own last write), saving the read when that
// record is still current; when it is not, the compare-and-swap fails and
// UpdateFrom carries on as Update does.
func (s *Store) UpdateFrom(ctx context.Context, known *jobs.Job, fn func(*jobs.Job) error) (*jobs.Job, error) {
	if known == nil || known.Revision <= 0 {
		return nil, fmt.Errorf("%w: UpdateFrom needs a record with its revision", ErrInvalid)
	}
	return s.update(ctx, known.ID, known, fn)
}

func (s *Store) update(ctx context.Context, id jobs.ID, known *jobs.Job, fn func(*jobs.Job) error) (*jobs.Job, error) {
	return update(ctx, s, id, known, fn)
}

// casStore is what Update needs of a store: both stores share the loop, so
// they retry the same way.
type casStore interface {
	Get(ctx context.Context, id jobs.ID) (*jobs.Job, error)
	CAS(ctx context.Context, j *jobs.Job) (*jobs.Job, error)
}

func update(ctx context.Context, s casStore, id jobs.ID, known *jobs.Job, fn func(*jobs.Job) error) (*jobs.Job, error) {
	for try := 1; ; try++ {
		cur, fromKnown := known, known != nil
		known = nil
		if cur == nil {
			var err error
			if cur, err = s.Get(ctx, id); err != nil {
				return nil, err
			}
		}
		next := cur.Clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		if next.ID != cur.ID || next.Tenant != cur.Tenant || !next.CreatedAt.Equal(cur.CreatedAt) {
			return nil, fmt.Errorf("%w: update of %s changed its id, tenant or creation time", ErrInvalid, id)
		}
		next.Revision = cur.Revision
		out, err := s.CAS(ctx, next)
		if !errors.Is(err, ErrConflict) {
			return out, err
		}
		if try == updateTries {
			return nil, fmt.Errorf("%w: %s: gave up after %d tries", ErrConflict, id, updateTries)
		}
		if fromKnown {
			continue // the caller's copy was stale, not contended: read at once
		}
		// Wait before the read, not after it: the read must be as fresh
		// as possible when the next compare-and-swap goes out.
		if err := pause(ctx, try); err != nil {
			return nil, classify("update "+string(id), err)
		}
	}
}

// contention spreads writers contending for one record: a random wait of
// up to 2ms·2^(try-1), at most 64ms ("full jitter").
var contention = backoff.Policy{Initial: 2 * time.Millisecond, Max: 64 * time.Millisecond, Jitter: 1}

func pause(ctx context.Context, try int) error {
	t := time.NewTimer(contention.Delay(try) + 100*time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Revision is the store's current revision, read through the quorum: a
// value that only grows, usable as a fencing token.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.keys.root(), clientv3.WithCountOnly())
	if err != nil {
		return 0, classify("revision", err)
	}
	return resp.Header.Revision, nil
}

// observe records one etcd round trip in the state-store metrics.
func observe(op string, start time.Time, err error) {
	metrics.StoreDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		metrics.StoreErrors.WithLabelValues(op).Inc()
	}
}

// queuedOp keeps the queued index in step with the job, in the same
// transaction as the job's write.
func (s *Store) queuedOp(j *jobs.Job) clientv3.Op {
	if j.Status == jobs.Queued {
		return clientv3.OpPut(s.keys.queued(j.ID), "")
	}
	return clientv3.OpDelete(s.keys.queued(j.ID))
}

// ScanQueued calls fn for every queued job, reading only the queued index
// and those jobs: the outbox sweep's cost follows the queue, not the
// history.
func (s *Store) ScanQueued(ctx context.Context, fn func(*jobs.Job) error) error {
	rctx, cancel := withTimeout(ctx)
	resp, err := s.cli.Get(rctx, s.keys.pending(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	cancel()
	if err != nil {
		return classify("scan queued", err)
	}
	for _, kv := range resp.Kvs {
		id := jobs.ID(strings.TrimPrefix(string(kv.Key), s.keys.pending()))
		j, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if j.Status != jobs.Queued {
			continue
		}
		if err := fn(j); err != nil {
			return err
		}
	}
	return nil
}
