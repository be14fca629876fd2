package batches

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
)

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func stores() []struct {
	name string
	new  func(t *testing.T) Store
} {
	return []struct {
		name string
		new  func(t *testing.T) Store
	}{
		{"etcd", func(t *testing.T) Store {
			return NewEtcd(shared, fmt.Sprintf("/test/%s/%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano()))
		}},
		{"memory", func(*testing.T) Store { return NewMemory() }},
	}
}

// someRows are n rows, every seventh rejected.
func someRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Row: i, JobID: jobs.NewID()}
		if i%7 == 3 {
			rows[i] = Row{Row: i, Errors: []errcode.FieldError{{Field: "variables.title", Message: strings.Repeat("too long ", 20)}}}
		}
	}
	return rows
}

func newBatch(tenant string, rows []Row) *Batch {
	b := &Batch{ID: NewID(), Tenant: tenant, TemplateID: "tpl_x", TemplateVersion: 1, Status: Running,
		Total: len(rows), CreatedAt: time.Now().UTC()}
	for _, r := range rows {
		if r.JobID != "" {
			b.Accepted++
		} else {
			b.Rejected++
		}
	}
	return b
}

// TestStoreContract runs every behaviour of the store against both stores.
func TestStoreContract(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			t.Run("create, rows, update, live", func(t *testing.T) {
				s := st.new(t)
				ctx := testCtx(t)
				rows := someRows(MaxRows) // 20 pages, rejected rows with long errors
				b, err := s.Create(ctx, newBatch("acme", rows), rows)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Create(ctx, b, rows); !errors.Is(err, ErrExists) {
					t.Fatalf("second create: %v", err)
				}
				got, err := s.Rows(ctx, "acme", b.ID)
				if err != nil || len(got) != MaxRows || got[9999].Row != 9999 || got[3].JobID != "" || got[4].JobID != rows[4].JobID {
					t.Fatalf("rows: %d, %v", len(got), err)
				}
				live, err := s.Live(ctx)
				if err != nil || len(live) != 1 || live[0].ID != b.ID {
					t.Fatalf("live %v, %v", live, err)
				}
				// Concurrent updates lose nothing.
				var wg sync.WaitGroup
				for range 8 {
					wg.Go(func() {
						if _, err := s.Update(ctx, "acme", b.ID, func(b *Batch) error { b.Accepted++; return nil }); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				ended, err := s.Update(ctx, "acme", b.ID, func(b *Batch) error { b.Status = Completed; return nil })
				if err != nil || ended.Accepted != b.Accepted+8 || ended.Revision <= b.Revision {
					t.Fatalf("updated %+v, %v", ended, err)
				}
				if live, _ := s.Live(ctx); len(live) != 0 {
					t.Fatalf("an ended batch is live: %v", live)
				}
				// Ended with a webhook pending: live again.
				s.Update(ctx, "acme", b.ID, func(b *Batch) error { b.Webhook = WebhookPending; return nil })
				if live, _ := s.Live(ctx); len(live) != 1 {
					t.Fatalf("a pending webhook is not live: %v", live)
				}
				stop := errors.New("stop")
				if _, err := s.Update(ctx, "acme", b.ID, func(*Batch) error { return stop }); !errors.Is(err, stop) {
					t.Fatalf("fn's error: %v", err)
				}
			})
			t.Run("tenants are apart", func(t *testing.T) {
				s := st.new(t)
				ctx := testCtx(t)
				rows := someRows(3)
				b, err := s.Create(ctx, newBatch("acme", rows), rows)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Get(ctx, "globex", b.ID); !errors.Is(err, ErrNotFound) {
					t.Fatalf("get: %v", err)
				}
				if _, err := s.Rows(ctx, "globex", b.ID); !errors.Is(err, ErrNotFound) {
					t.Fatalf("rows: %v", err)
				}
				if _, err := s.Update(ctx, "globex", b.ID, func(*Batch) error { return nil }); !errors.Is(err, ErrNotFound) {
					t.Fatalf("update: %v", err)
				}
				if _, err := s.Get(ctx, "acme", "bat_none"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("none: %v", err)
				}
			})
		})
	}
}
