package jobstore

import (
	"context"
	"errors"
	"testing"
)

// A cursor starts at 0, only moves forward, and refuses a write fenced by
// a term that has ended.
func TestCursor_ForwardOnlyAndFenced(t *testing.T) {
	for _, b := range termBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			s := b.store(t)
			c := s.(interface {
				Cursor(ctx context.Context, name string) (int64, error)
				AdvanceCursor(ctx context.Context, name string, rev int64) error
			})
			at := func(want int64) {
				t.Helper()
				if got, err := c.Cursor(ctx, "announced"); err != nil || got != want {
					t.Fatalf("cursor %d (%v), want %d", got, err, want)
				}
			}
			at(0)
			for _, step := range []struct{ to, want int64 }{{5, 5}, {3, 5}, {5, 5}, {9, 9}} {
				if err := c.AdvanceCursor(ctx, "announced", step.to); err != nil {
					t.Fatal(err)
				}
				at(step.want)
			}
			term, end := b.elect(t, s, "leader")
			if err := c.AdvanceCursor(WithTerm(ctx, term), "announced", 12); err != nil {
				t.Fatal(err)
			}
			end()
			if err := c.AdvanceCursor(WithTerm(ctx, term), "announced", 20); !errors.Is(err, ErrDeposed) {
				t.Fatalf("advance after the term ended: %v, want ErrDeposed", err)
			}
			at(12)
			if err := c.AdvanceCursor(WithTerm(ctx, term), "fresh", 20); !errors.Is(err, ErrDeposed) {
				t.Fatalf("creating a cursor after the term ended: %v, want ErrDeposed", err)
			}
		})
	}
}
