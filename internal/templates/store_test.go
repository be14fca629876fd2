package templates

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobstore"
)

// TestStoreContract runs every behaviour of the store against both stores.
func TestStoreContract(t *testing.T) {
	stores := []struct {
		name string
		new  func(t *testing.T) Store
	}{
		{"etcd", func(t *testing.T) Store {
			return NewEtcd(shared, fmt.Sprintf("/test/%s/%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano()))
		}},
		{"memory", func(*testing.T) Store { return NewMemory() }},
	}
	behaviours := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"versions", storeVersions},
		{"tenants are apart", storeTenants},
		{"list pages newest first", storeList},
		{"delete", storeDelete},
		{"canceled context", storeCanceled},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, b := range behaviours {
				t.Run(b.name, func(t *testing.T) { b.run(t, st.new(t)) })
			}
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func newTemplate(tenant, name string) *Template {
	return &Template{ID: NewID(), Tenant: tenant, Definition: Definition{Name: name, Spec: []byte(`{"source":{}}`),
		Variables: map[string]Variable{"a": {Type: TypeText, Default: []byte(`"x"`)}}}}
}

func storeVersions(t *testing.T, s Store) {
	c, err := s.Create(ctx(t), newTemplate("acme", "one"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 || c.CreatedAt.IsZero() || !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Fatalf("created %+v", c)
	}
	if _, err := s.Create(ctx(t), c); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a second create of %s: %v", c.ID, err)
	}
	d := c.Definition
	d.Name = "two"
	v2, err := s.Update(ctx(t), "acme", c.ID, d)
	if err != nil || v2.Version != 2 || v2.Name != "two" || !v2.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("update: %+v, %v", v2, err)
	}
	for _, tt := range []struct{ ask, want int }{{0, 2}, {1, 1}, {2, 2}} {
		got, err := s.Get(ctx(t), "acme", c.ID, tt.ask)
		if err != nil || got.Version != tt.want || got.Variables["a"].Type != TypeText {
			t.Fatalf("get v%d: %+v, %v", tt.ask, got, err)
		}
	}
	if got, _ := s.Get(ctx(t), "acme", c.ID, 1); got.Name != "one" {
		t.Fatalf("version 1 changed: %+v", got)
	}
	if _, err := s.Get(ctx(t), "acme", c.ID, 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("v3: %v", err)
	}
	if _, err := s.Update(ctx(t), "acme", NewID(), d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of none: %v", err)
	}
}

func storeTenants(t *testing.T, s Store) {
	c, err := s.Create(ctx(t), newTemplate("acme", "mine"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx(t), "globex", c.ID, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another tenant's get: %v", err)
	}
	if _, err := s.Update(ctx(t), "globex", c.ID, c.Definition); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another tenant's update: %v", err)
	}
	if err := s.Delete(ctx(t), "globex", c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another tenant's delete: %v", err)
	}
	if list, _, err := s.List(ctx(t), "globex", ListOptions{}); err != nil || len(list) != 0 {
		t.Fatalf("another tenant's list: %v, %v", list, err)
	}
	if _, err := s.Get(ctx(t), "acme", c.ID, 0); err != nil {
		t.Fatalf("the owner's get after the others: %v", err)
	}
}

func storeList(t *testing.T, s Store) {
	var ids []string
	for i := range 5 {
		c, err := s.Create(ctx(t), newTemplate("acme", fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{c.ID}, ids...)
		time.Sleep(time.Millisecond)
	}
	// A new version does not move a template in the list.
	if _, err := s.Update(ctx(t), "acme", ids[4], Definition{Name: "new", Spec: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor := ""
	for page := 0; page < 5; page++ {
		list, next, err := s.List(ctx(t), "acme", ListOptions{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range list {
			got = append(got, tp.ID)
			if tp.ID == ids[4] && tp.Version != 2 {
				t.Fatalf("list shows version %d, not the latest", tp.Version)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("listed %v, want %v", got, ids)
	}
	if _, _, err := s.List(ctx(t), "acme", ListOptions{Cursor: "nope"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func storeDelete(t *testing.T, s Store) {
	c, err := s.Create(ctx(t), newTemplate("acme", "gone"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx(t), "acme", c.ID, c.Definition); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx(t), "acme", c.ID); err != nil {
		t.Fatal(err)
	}
	for v := range 3 {
		if _, err := s.Get(ctx(t), "acme", c.ID, v); !errors.Is(err, ErrNotFound) {
			t.Fatalf("v%d after delete: %v", v, err)
		}
	}
	if err := s.Delete(ctx(t), "acme", c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if list, _, _ := s.List(ctx(t), "acme", ListOptions{}); len(list) != 0 {
		t.Fatalf("listed after delete: %v", list)
	}
}

func storeCanceled(t *testing.T, s Store) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Create(c, newTemplate("acme", "x")); err == nil || errors.Is(err, jobstore.ErrUnavailable) {
		t.Fatalf("create on a canceled context: %v", err)
	}
	if _, err := s.Get(c, "acme", NewID(), 0); err == nil {
		t.Fatal("get on a canceled context")
	}
}
