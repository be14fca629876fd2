package jobstore

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrDeposed: the write was made under a leadership term that has ended
// (its election key is gone or belongs to a newer campaign); nothing was
// written. The writer is no longer the leader and must stop acting as one.
var ErrDeposed = errors.New("jobstore: the writer's leadership term has ended")

// Term is one leadership term: the election key the leader holds and that
// key's create revision when it won. Writes made with a context that
// carries a Term (WithTerm) commit only while the key still exists with
// that create revision, in the same etcd transaction as the write, so a
// leader that was deposed while paused can change nothing, whatever its
// timers do when it wakes.
type Term struct {
	Key string // the election key: a full etcd key for Store, a name for Memory
	Rev int64  // the key's create revision
}

type termKey struct{}

// WithTerm returns a context whose writes are fenced by t.
func WithTerm(ctx context.Context, t Term) context.Context {
	return context.WithValue(ctx, termKey{}, t)
}

// TermOf returns the term ctx's writes are fenced by, if any.
func TermOf(ctx context.Context) (Term, bool) {
	t, ok := ctx.Value(termKey{}).(Term)
	return t, ok && t.Key != ""
}

// termIn is the term ctx's writes are fenced by, the zero Term for none.
func termIn(ctx context.Context) Term {
	if t, ok := TermOf(ctx); ok {
		return t
	}
	return Term{}
}

// termCmp is the compare a fenced write adds to its transaction, and the
// read that tells, when the transaction fails, whether the term was why.
func termCmp(ctx context.Context) ([]clientv3.Cmp, []clientv3.Op, Term, bool) {
	t := termIn(ctx)
	if t.Key == "" {
		return nil, nil, t, false
	}
	return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(t.Key), "=", t.Rev)},
		[]clientv3.Op{clientv3.OpGet(t.Key, clientv3.WithKeysOnly())}, t, true
}

// deposed tells from a failed transaction's read of the election key
// whether the term had ended.
func deposed(t Term, resp *clientv3.TxnResponse, at int) error {
	if at >= len(resp.Responses) {
		return nil
	}
	kvs := resp.Responses[at].GetResponseRange().GetKvs()
	if len(kvs) == 0 || kvs[0].CreateRevision != t.Rev {
		return fmt.Errorf("%w: %s (term %d)", ErrDeposed, t.Key, t.Rev)
	}
	return nil
}

// TermValid reports whether t is still the current term of its key, read
// through the quorum: a leader that wakes from a pause asks before acting
// on timers that fired while it slept.
func (s *Store) TermValid(ctx context.Context, t Term) (bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, t.Key, clientv3.WithKeysOnly())
	if err != nil {
		return false, classify("term "+t.Key, err)
	}
	return len(resp.Kvs) == 1 && resp.Kvs[0].CreateRevision == t.Rev, nil
}

// Elect begins a new term on key in the in-memory store, as winning an
// etcd election does, ending any earlier term on it.
func (m *Memory) Elect(key string) Term {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.terms == nil {
		m.terms = map[string]int64{}
	}
	m.termSeq++
	m.terms[key] = m.termSeq
	return Term{Key: key, Rev: m.termSeq}
}

// EndTerm ends the current term on key (its lease expired).
func (m *Memory) EndTerm(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.terms, key)
}

// TermValid implements the store contract: see Store.TermValid.
func (m *Memory) TermValid(ctx context.Context, t Term) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, classify("term "+t.Key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.terms[t.Key] == t.Rev, nil
}

// checkTermLocked is the fence of a Memory write.
func (m *Memory) checkTermLocked(ctx context.Context) error {
	if t, ok := TermOf(ctx); ok && m.terms[t.Key] != t.Rev {
		return fmt.Errorf("%w: %s (term %d)", ErrDeposed, t.Key, t.Rev)
	}
	return nil
}
