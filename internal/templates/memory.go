package templates

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/jobstore"
)

// Memory is the in-memory twin of Etcd, for tests and single-process
// set-ups: the same versions, errors, ordering and cursors.
type Memory struct {
	mu   sync.Mutex
	rev  int64
	tpls map[string][]*Template // tenant/id → versions, oldest first
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{tpls: map[string][]*Template{}} }

func memKey(tenant, id string) string { return tenant + "\x00" + id }

func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return jobstore.Classify(op, err)
	}
	return nil
}

// Create implements Store.
func (m *Memory) Create(ctx context.Context, t *Template) (*Template, error) {
	if err := checkRef(t.Tenant, t.ID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := ctxErr(ctx, "create template"); err != nil {
		return nil, err
	}
	c := t.Clone()
	c.Version = 1
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(c.Tenant, c.ID)
	if _, ok := m.tpls[k]; ok {
		return nil, fmt.Errorf("%w: template %s exists", ErrInvalid, c.ID)
	}
	m.rev++
	c.Revision = m.rev
	m.tpls[k] = []*Template{c}
	return c.Clone(), nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, tenant, id string, version int) (*Template, error) {
	if err := checkRef(tenant, id); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "get template"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.tpls[memKey(tenant, id)]
	switch {
	case len(vs) == 0, version > len(vs):
		return nil, notFound(id, version)
	case version == 0:
		return vs[len(vs)-1].Clone(), nil
	}
	return vs[version-1].Clone(), nil
}

// Update implements Store.
func (m *Memory) Update(ctx context.Context, tenant, id string, d Definition) (*Template, error) {
	if err := checkRef(tenant, id); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "update template"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(tenant, id)
	vs := m.tpls[k]
	if len(vs) == 0 {
		return nil, notFound(id, 0)
	}
	next := vs[len(vs)-1].Clone()
	next.Definition = d.clone()
	next.Version++
	next.UpdatedAt = time.Now().UTC()
	m.rev++
	next.Revision = m.rev
	m.tpls[k] = append(vs, next)
	return next.Clone(), nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, tenant, id string) error {
	if err := checkRef(tenant, id); err != nil {
		return err
	}
	if err := ctxErr(ctx, "delete template"); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(tenant, id)
	if len(m.tpls[k]) == 0 {
		return notFound(id, 0)
	}
	delete(m.tpls, k)
	m.rev++
	return nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context, tenant string, o ListOptions) ([]*Template, string, error) {
	after := ""
	if o.Cursor != "" {
		var err error
		if after, err = decodeCursor(o.Cursor); err != nil {
			return nil, "", err
		}
	}
	if err := ctxErr(ctx, "list templates"); err != nil {
		return nil, "", err
	}
	type entry struct {
		suffix string
		t      *Template
	}
	m.mu.Lock()
	var entries []entry
	for _, vs := range m.tpls {
		head := vs[len(vs)-1]
		if head.Tenant != tenant {
			continue
		}
		if s := indexSuffix(head.CreatedAt, head.ID); s > after {
			entries = append(entries, entry{s, head.Clone()})
		}
	}
	m.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].suffix < entries[j].suffix })
	limit := o.limit()
	next := ""
	if len(entries) > limit {
		entries = entries[:limit]
		next = encodeCursor(entries[limit-1].suffix)
	}
	out := make([]*Template, len(entries))
	for i, e := range entries {
		out[i] = e.t
	}
	return out, next, nil
}
