package jobstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/stickerd/stickerd/internal/jobs"
)

// termBackend begins and ends leadership terms on a store of one kind.
type termBackend struct {
	name  string
	store func(t *testing.T) contract
	// elect wins a term on key; end ends it (the leader's lease expired).
	elect func(t *testing.T, s contract, key string) (Term, func())
}

var termBackends = []termBackend{
	{
		name:  "etcd",
		store: func(t *testing.T) contract { return newStore(t) },
		elect: func(t *testing.T, s contract, key string) (Term, func()) {
			st := s.(*Store)
			sess, err := concurrency.NewSession(st.cli, concurrency.WithTTL(5))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sess.Close() })
			el := concurrency.NewElection(sess, st.keys.prefix+"-election/"+key)
			if err := el.Campaign(testCtx(t), "me"); err != nil {
				t.Fatal(err)
			}
			return Term{Key: el.Key(), Rev: el.Rev()}, func() {
				if err := sess.Close(); err != nil { // revokes the lease: the key goes
					t.Fatal(err)
				}
			}
		},
	},
	{
		name:  "memory",
		store: func(*testing.T) contract { return NewMemory() },
		elect: func(_ *testing.T, s contract, key string) (Term, func()) {
			m := s.(*Memory)
			return m.Elect(key), func() { m.EndTerm(key) }
		},
	},
}

// A write fenced by a term commits while the term lasts; once it has
// ended, the same write is refused with ErrDeposed and changes nothing,
// whatever the writer believes. Unfenced writes are not affected.
func TestTerm_FencesWritesOfADeposedLeader(t *testing.T) {
	for _, b := range termBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			s := b.store(t)
			j, err := s.Create(ctx, newJob("t1", time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			term, end := b.elect(t, s, "leader")
			lead := WithTerm(ctx, term)
			bump := func(j *jobs.Job) error { j.Progress += 0.1; return nil }
			if w, err := s.Update(lead, j.ID, bump); err != nil || w.Term != term.Rev {
				t.Fatalf("a write in the term: %v, stamped with term %v, want %d", err, w, term.Rev)
			}
			if got, _ := s.Get(ctx, j.ID); got.Term != term.Rev {
				t.Fatalf("the stored record carries term %d, want %d", got.Term, term.Rev)
			}
			valid := s.(interface {
				TermValid(context.Context, Term) (bool, error)
			})
			if ok, err := valid.TermValid(ctx, term); !ok || err != nil {
				t.Fatalf("TermValid in the term: %v, %v", ok, err)
			}
			end()
			if ok, err := valid.TermValid(ctx, term); ok || err != nil {
				t.Fatalf("TermValid after the term: %v, %v", ok, err)
			}
			before, _ := s.Get(ctx, j.ID)
			_, err = s.Update(lead, j.ID, bump)
			if !errors.Is(err, ErrDeposed) {
				t.Fatalf("a write after the term ended: %v, want ErrDeposed", err)
			}
			if after, _ := s.Get(ctx, j.ID); after.Revision != before.Revision || after.Progress != before.Progress {
				t.Fatalf("the refused write changed the record: %+v", after)
			}
			next, _ := b.elect(t, s, "leader")
			if _, err := s.Update(lead, j.ID, bump); !errors.Is(err, ErrDeposed) {
				t.Fatalf("the old term's write under a new leader: %v, want ErrDeposed", err)
			}
			if _, err := s.Update(WithTerm(ctx, next), j.ID, bump); err != nil {
				t.Fatalf("the new term's write: %v", err)
			}
			if w, err := s.Update(ctx, j.ID, bump); err != nil || w.Term != 0 {
				t.Fatalf("an unfenced write: %v (%+v)", err, w)
			}
		})
	}
}
