package batches

import (
	"context"
	"errors"
	"fmt"
)

// Errors of a Store. An outage is jobstore.ErrUnavailable, as for jobs.
var (
	// ErrNotFound: the tenant has no such batch.
	ErrNotFound = errors.New("batches: not found")
	// ErrExists: Create found a batch with this id.
	ErrExists = errors.New("batches: batch exists")
	// ErrConflict: Update gave up under contention.
	ErrConflict = errors.New("batches: revision conflict")
)

// RowsPerPage is how many rows one stored page holds.
const RowsPerPage = 500

// Store keeps batch records and their rows. A tenant never sees another's
// batch: it is ErrNotFound.
type Store interface {
	// Create stores a new batch with its rows.
	Create(ctx context.Context, b *Batch, rows []Row) (*Batch, error)
	// Get returns the batch record.
	Get(ctx context.Context, tenant, id string) (*Batch, error)
	// Rows returns every row of the batch, in order.
	Rows(ctx context.Context, tenant, id string) ([]Row, error)
	// Update applies fn to the current record and writes it with a
	// compare-and-swap, re-reading and applying fn again when another
	// writer got there first; an error of fn aborts it.
	Update(ctx context.Context, tenant, id string, fn func(*Batch) error) (*Batch, error)
	// Live lists the batches a tracker still has work with: not ended, or
	// ended with the webhook not delivered yet.
	Live(ctx context.Context) ([]*Batch, error)
}

func checkRef(tenant, id string) error {
	if tenant == "" || !ValidID(id) {
		return fmt.Errorf("%w: batch %q", ErrNotFound, id)
	}
	return nil
}

// pages cuts rows into stored pages.
func pages(rows []Row) [][]Row {
	var out [][]Row
	for lo := 0; lo < len(rows); lo += RowsPerPage {
		out = append(out, rows[lo:min(lo+RowsPerPage, len(rows))])
	}
	return out
}
