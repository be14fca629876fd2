package batches

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/stickerd/stickerd/internal/jobstore"
)

// Memory is the in-memory twin of Etcd, for tests and single-process
// set-ups.
type Memory struct {
	mu      sync.Mutex
	rev     int64
	batches map[string]*Batch
	rows    map[string][]Row
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{batches: map[string]*Batch{}, rows: map[string][]Row{}} }

func memKey(tenant, id string) string { return tenant + "\x00" + id }

func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return jobstore.Classify(op, err)
	}
	return nil
}

// Create implements Store.
func (m *Memory) Create(ctx context.Context, b *Batch, rows []Row) (*Batch, error) {
	if err := checkRef(b.Tenant, b.ID); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "create batch"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(b.Tenant, b.ID)
	if _, ok := m.batches[k]; ok {
		return nil, fmt.Errorf("%w: %s", ErrExists, b.ID)
	}
	m.rev++
	c := b.Clone()
	c.Revision = m.rev
	m.batches[k] = c
	m.rows[k] = append([]Row(nil), rows...)
	return c.Clone(), nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, tenant, id string) (*Batch, error) {
	if err := checkRef(tenant, id); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "get batch"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.batches[memKey(tenant, id)]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return b.Clone(), nil
}

// Rows implements Store.
func (m *Memory) Rows(ctx context.Context, tenant, id string) ([]Row, error) {
	if _, err := m.Get(ctx, tenant, id); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Row(nil), m.rows[memKey(tenant, id)]...), nil
}

// Update implements Store.
func (m *Memory) Update(ctx context.Context, tenant, id string, fn func(*Batch) error) (*Batch, error) {
	cur, err := m.Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	for {
		next := cur.Clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		next.ID, next.Tenant = cur.ID, cur.Tenant
		m.mu.Lock()
		stored := m.batches[memKey(tenant, id)]
		if stored.Revision == cur.Revision {
			m.rev++
			next.Revision = m.rev
			m.batches[memKey(tenant, id)] = next.Clone()
			m.mu.Unlock()
			return next, nil
		}
		cur = stored.Clone()
		m.mu.Unlock()
	}
}

// Live implements Store.
func (m *Memory) Live(ctx context.Context) ([]*Batch, error) {
	if err := ctxErr(ctx, "list live batches"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Batch
	for _, b := range m.batches {
		if b.live() {
			out = append(out, b.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
