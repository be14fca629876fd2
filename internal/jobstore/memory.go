package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// maxHistory is how many changes a Memory keeps for watches that resume
// from a past revision; older ones are compacted away, as etcd does.
const maxHistory = 10000

// Memory is the in-memory twin of Store, for tests and single-process
// setups that need no etcd: the same records (JSON, so a caller's copy is
// never shared), the same errors, compare-and-swap on one store-wide
// revision that grows with every write, the queued index, newest-first
// listings with the same cursors, Watch and WatchJobs with history and
// resync after compaction, and the same Update loop. The shared contract
// test runs every behaviour against both.
type Memory struct {
	mu        sync.Mutex
	rev       int64
	records   map[jobs.ID]memRecord
	history   []memChange // every change with a revision above compacted
	compacted int64
	subs      map[*memSub]struct{}
	// listScanLimit as Store's, a field so that tests can lower it.
	listScanLimit int
	// terms are the election keys' current terms (Elect), termSeq the
	// last term handed out.
	terms   map[string]int64
	termSeq int64
	// idems are the Idempotency-Keys (idempotency_memory.go).
	idems *memIdem
	// cursors are the named revisions of cursor.go.
	cursors map[string]int64
}

type memRecord struct {
	data     []byte
	revision int64
	status   jobs.Status // for the queued index
	tenant   string
	created  time.Time
	// task marks a split job's task record, which listings skip (Store
	// gives tasks no index entry).
	task bool
}

type memChange struct {
	id       jobs.ID
	data     []byte
	revision int64
}

// NewMemory returns an empty in-memory store at revision 1, as a new etcd
// cluster starts.
func NewMemory() *Memory {
	return &Memory{rev: 1, records: map[jobs.ID]memRecord{}, subs: map[*memSub]struct{}{}, listScanLimit: listScanLimit, idems: newMemIdem()}
}

func (m *Memory) decode(id jobs.ID, data []byte, rev int64) (*jobs.Job, error) {
	var j jobs.Job
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("jobstore: decode %s: %w", id, err)
	}
	j.Revision = rev
	return &j, nil
}

// putLocked writes a record at the next revision and tells the watchers.
func (m *Memory) putLocked(j *jobs.Job, data []byte) int64 {
	return m.putAllLocked([]*jobs.Job{j}, [][]byte{data})
}

// putAllLocked writes records at one new revision (one transaction) and
// tells the watchers.
func (m *Memory) putAllLocked(js []*jobs.Job, data [][]byte) int64 {
	m.rev++
	for i, j := range js {
		m.records[j.ID] = memRecord{data: data[i], revision: m.rev, status: j.Status, tenant: j.Tenant, created: j.CreatedAt,
			task: j.Parent != ""}
		ch := memChange{id: j.ID, data: data[i], revision: m.rev}
		m.history = append(m.history, ch)
		for s := range m.subs {
			s.addLocked(ch)
		}
	}
	if len(m.history) > maxHistory {
		drop := len(m.history) - maxHistory/2
		m.compacted = m.history[drop-1].revision
		m.history = append([]memChange(nil), m.history[drop:]...)
	}
	return m.rev
}

// Create implements the store contract: see Store.Create.
func (m *Memory) Create(ctx context.Context, j *jobs.Job) (*jobs.Job, error) {
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
	if err := ctx.Err(); err != nil {
		return nil, classify("create "+string(c.ID), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.records[c.ID]; ok {
		return nil, fmt.Errorf("%w: %s", ErrExists, c.ID)
	}
	c.Revision = m.putLocked(c, data)
	return c, nil
}

// Get implements the store contract: see Store.Get.
func (m *Memory) Get(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, classify("get "+string(id), err)
	}
	m.mu.Lock()
	r, ok := m.records[id]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return m.decode(id, r.data, r.revision)
}

// CAS implements the store contract: see Store.CAS.
func (m *Memory) CAS(ctx context.Context, j *jobs.Job) (*jobs.Job, error) {
	if err := checkID(j.ID); err != nil {
		return nil, err
	}
	if j.Revision <= 0 {
		return nil, fmt.Errorf("%w: %s: no revision to compare (use Create for a new job)", ErrConflict, j.ID)
	}
	c := j.Clone()
	c.Term = termIn(ctx).Rev
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("jobstore: encode %s: %w", c.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, classify("cas "+string(c.ID), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.casCheckLocked(ctx, c); err != nil {
		return nil, err
	}
	c.Revision = m.putLocked(c, data)
	return c, nil
}

// casCheckLocked is what a compare-and-swap of c compares: the term in
// ctx still holds, and the record is still at c.Revision.
func (m *Memory) casCheckLocked(ctx context.Context, c *jobs.Job) error {
	if err := m.checkTermLocked(ctx); err != nil {
		return err
	}
	r, ok := m.records[c.ID]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", ErrNotFound, c.ID)
	case r.revision != c.Revision:
		return fmt.Errorf("%w: %s is at revision %d, the write was based on %d", ErrConflict, c.ID, r.revision, c.Revision)
	}
	return nil
}

// Update implements the store contract: see Store.Update.
func (m *Memory) Update(ctx context.Context, id jobs.ID, fn func(*jobs.Job) error) (*jobs.Job, error) {
	return update(ctx, m, id, nil, fn)
}

// UpdateFrom implements the store contract: see Store.UpdateFrom.
func (m *Memory) UpdateFrom(ctx context.Context, known *jobs.Job, fn func(*jobs.Job) error) (*jobs.Job, error) {
	if known == nil || known.Revision <= 0 {
		return nil, fmt.Errorf("%w: UpdateFrom needs a record with its revision", ErrInvalid)
	}
	return update(ctx, m, known.ID, known, fn)
}

// Revision implements the store contract: see Store.Revision.
func (m *Memory) Revision(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, classify("revision", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev, nil
}

// snapshot returns the records keep selects, in id order (etcd's key order).
func (m *Memory) snapshot(keep func(memRecord) bool) ([]jobs.ID, []memRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []jobs.ID
	for id, r := range m.records {
		if keep == nil || keep(r) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	rs := make([]memRecord, len(ids))
	for i, id := range ids {
		rs[i] = m.records[id]
	}
	return ids, rs
}

func (m *Memory) scan(ctx context.Context, op string, keep func(memRecord) bool, fn func(*jobs.Job) error) error {
	if err := ctx.Err(); err != nil {
		return classify(op, err)
	}
	ids, rs := m.snapshot(keep)
	for i, id := range ids {
		j, err := m.decode(id, rs[i].data, rs[i].revision)
		if err != nil {
			return err
		}
		if err := fn(j); err != nil {
			return err
		}
	}
	return nil
}

// Scan implements the store contract: see Store.Scan.
func (m *Memory) Scan(ctx context.Context, fn func(*jobs.Job) error) error {
	return m.scan(ctx, "scan", nil, fn)
}

// ScanQueued implements the store contract: see Store.ScanQueued.
func (m *Memory) ScanQueued(ctx context.Context, fn func(*jobs.Job) error) error {
	return m.scan(ctx, "scan queued", func(r memRecord) bool { return r.status == jobs.Queued }, fn)
}

// List implements the store contract: see Store.List. A page reads one
// snapshot; the cursors are Store's.
func (m *Memory) List(ctx context.Context, o ListOptions) ([]*jobs.Job, string, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	after := ""
	if o.Cursor != "" {
		var err error
		if after, err = decodeCursor(o.Cursor); err != nil {
			return nil, "", err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, "", classify("list "+o.Tenant, err)
	}
	type entry struct {
		suffix string
		id     jobs.ID
		r      memRecord
	}
	ids, rs := m.snapshot(func(r memRecord) bool { return r.tenant == o.Tenant && !r.task })
	entries := make([]entry, 0, len(ids))
	for i, id := range ids {
		if s := indexSuffix(rs[i].created, id); s > after {
			entries = append(entries, entry{s, id, rs[i]})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].suffix < entries[j].suffix })
	var out []*jobs.Job
	for i, e := range entries {
		if o.Status == "" || e.r.status == o.Status {
			j, err := m.decode(e.id, e.r.data, e.r.revision)
			if err != nil {
				return nil, "", err
			}
			out = append(out, j)
		}
		if len(out) == limit || i+1 == m.listScanLimit {
			if i == len(entries)-1 {
				return out, "", nil
			}
			return out, encodeCursor(e.suffix), nil
		}
	}
	return out, "", nil
}

// Compact forgets the history up to now, as an etcd compaction does: a
// WatchJobs from an earlier revision first gets every current record.
func (m *Memory) Compact() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.history, m.compacted = nil, m.rev
}

// WatchJobs implements the store contract: see Store.WatchJobs.
func (m *Memory) WatchJobs(ctx context.Context, fromRevision int64) (<-chan Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, classify("watch jobs", err)
	}
	out := make(chan Event, 64)
	m.mu.Lock()
	s := m.subscribeLocked(fromRevision, "")
	m.mu.Unlock()
	go m.pump(ctx, s, func(c memChange) bool {
		e := Event{Deleted: c.data == nil, Job: &jobs.Job{ID: c.id, Revision: c.revision}}
		if !e.Deleted {
			j, err := m.decode(c.id, c.data, c.revision)
			if err != nil {
				return true
			}
			e.Job = j
		}
		select {
		case out <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}, func() { close(out) })
	return out, nil
}

// Watch implements the store contract: see Store.Watch.
func (m *Memory) Watch(ctx context.Context, id jobs.ID) (<-chan *jobs.Job, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, classify("watch "+string(id), err)
	}
	m.mu.Lock()
	r, ok := m.records[id]
	if !ok {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	s := m.subscribeLocked(m.rev+1, id)
	m.mu.Unlock()
	cur, err := m.decode(id, r.data, r.revision)
	if err != nil {
		m.unsubscribe(s)
		return nil, err
	}
	out := make(chan *jobs.Job)
	changes := make(chan *jobs.Job)
	wctx, cancel := context.WithCancel(ctx)
	go m.pump(wctx, s, func(c memChange) bool {
		var j *jobs.Job // nil: the record was deleted (delete.go)
		if c.data != nil {
			var err error
			if j, err = m.decode(c.id, c.data, c.revision); err != nil {
				return true
			}
		}
		select {
		case changes <- j:
			return true
		case <-wctx.Done():
			return false
		}
	}, func() {})
	go func() {
		defer close(out)
		defer cancel()
		// As Store.followJob: queue the changes, keeping only the newest
		// of consecutive records with one status, and end after a
		// terminal one.
		pending := []*jobs.Job{cur}
		ended := cur.Status.Terminal()
		for len(pending) > 0 || !ended {
			var send chan<- *jobs.Job
			var head *jobs.Job
			if len(pending) > 0 {
				send, head = out, pending[0]
			}
			in := changes
			if ended {
				in = nil
			}
			select {
			case <-ctx.Done():
				return
			case send <- head:
				pending = pending[1:]
			case j := <-in:
				if j == nil {
					ended = true
					continue
				}
				pending = queue(pending, j)
				ended = j.Status.Terminal()
			}
		}
	}()
	return out, nil
}

// memSub is one watcher: the changes it has not taken yet.
type memSub struct {
	from    int64   // the first revision it wants
	id      jobs.ID // "" for every job
	pending []memChange
	wake    chan struct{}
}

func (s *memSub) addLocked(c memChange) {
	if c.revision < s.from || (s.id != "" && c.id != s.id) {
		return
	}
	s.pending = append(s.pending, c)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// subscribeLocked starts a watcher from revision from (0: from now), with
// the history it has missed; when that history is compacted away, every
// current record comes first.
func (m *Memory) subscribeLocked(from int64, id jobs.ID) *memSub {
	if from <= 0 {
		from = m.rev + 1
	}
	s := &memSub{from: from, id: id, wake: make(chan struct{}, 1)}
	if from <= m.compacted {
		ids := make([]jobs.ID, 0, len(m.records))
		for rid := range m.records {
			ids = append(ids, rid)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, rid := range ids {
			r := m.records[rid]
			s.pending = append(s.pending, memChange{id: rid, data: r.data, revision: r.revision})
		}
		s.from = m.rev + 1
	} else {
		i := sort.Search(len(m.history), func(i int) bool { return m.history[i].revision >= from })
		for _, c := range m.history[i:] {
			s.addLocked(c)
		}
	}
	m.subs[s] = struct{}{}
	return s
}

func (m *Memory) unsubscribe(s *memSub) {
	m.mu.Lock()
	delete(m.subs, s)
	m.mu.Unlock()
}

// pump hands a watcher's changes to deliver, in order, without ever
// holding up a writer, until ctx ends or deliver refuses.
func (m *Memory) pump(ctx context.Context, s *memSub, deliver func(memChange) bool, done func()) {
	defer done()
	defer m.unsubscribe(s)
	for {
		m.mu.Lock()
		batch := s.pending
		s.pending = nil
		m.mu.Unlock()
		for _, c := range batch {
			if !deliver(c) {
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}
