package jobstore

import (
	"context"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A cursor is a named store revision that only moves forward, kept in
// etcd beside the jobs: the scheduler leader records up to which revision
// it has announced the job records' state changes, so that its successor
// announces what it left unannounced (an outbox read from etcd's own
// history). Written with a context that carries a Term, the write is
// fenced like every other leader write.

func (k keys) cursor(name string) string { return k.prefix + "/cursors/" + name }

// cursorValue encodes rev so that etcd's byte-wise compare orders it.
func cursorValue(rev int64) string { return fmt.Sprintf("%020d", rev) }

// Cursor returns the cursor's revision, 0 when it was never set.
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.keys.cursor(name))
	if err != nil {
		return 0, classify("cursor "+name, err)
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	rev, err := strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("jobstore: cursor %s: %w", name, err)
	}
	return rev, nil
}

// AdvanceCursor moves the cursor to rev unless it is there or further
// already (nil either way); ErrDeposed when ctx's term has ended.
func (s *Store) AdvanceCursor(ctx context.Context, name string, rev int64) error {
	fence, readTerm, term, fenced := termCmp(ctx)
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	key, v := s.keys.cursor(name), cursorValue(rev)
	resp, err := s.cli.Txn(ctx).
		If(append(fence, clientv3.Compare(clientv3.Value(key), "<", v))...).
		Then(clientv3.OpPut(key, v)).
		Else(append([]clientv3.Op{clientv3.OpGet(key, clientv3.WithKeysOnly())}, readTerm...)...).
		Commit()
	if err != nil {
		return classify("cursor "+name, err)
	}
	if resp.Succeeded {
		return nil
	}
	if fenced {
		if err := deposed(term, resp, 1); err != nil {
			return err
		}
	}
	if len(resp.Responses[0].GetResponseRange().GetKvs()) == 0 {
		// A key that does not exist fails every compare on its value:
		// create it (under the same fence).
		resp, err = s.cli.Txn(ctx).
			If(append(fence, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))...).
			Then(clientv3.OpPut(key, v)).
			Commit()
		if err != nil {
			return classify("cursor "+name, err)
		}
		if !resp.Succeeded && fenced {
			if ok, err := s.TermValid(ctx, term); err == nil && !ok {
				return fmt.Errorf("%w: %s (term %d)", ErrDeposed, term.Key, term.Rev)
			}
		}
	}
	return nil
}

// Cursor implements the store contract: see Store.Cursor.
func (m *Memory) Cursor(ctx context.Context, name string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, classify("cursor "+name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursors[name], nil
}

// AdvanceCursor implements the store contract: see Store.AdvanceCursor.
func (m *Memory) AdvanceCursor(ctx context.Context, name string, rev int64) error {
	if err := ctx.Err(); err != nil {
		return classify("cursor "+name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkTermLocked(ctx); err != nil {
		return err
	}
	if m.cursors == nil {
		m.cursors = map[string]int64{}
	}
	m.cursors[name] = max(m.cursors[name], rev)
	return nil
}
