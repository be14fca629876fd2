package assets

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stickerd/stickerd/services/assets/assetstest"
)

func TestStore_UploadDeduplicatesPerTenant(t *testing.T) {
	s, blobs := newStore(t)
	ctx := testCtx(t)
	png := assetstest.PNG(t, 24, 24)
	first, created, err := s.Upload(ctx, "acme", "image/png", bytes.NewReader(png), 0)
	if err != nil || !created {
		t.Fatalf("first upload: created %v, %v", created, err)
	}
	tests := []struct {
		name    string
		tenant  string
		data    []byte
		created bool
		sameID  bool
	}{
		{"same tenant, same bytes", "acme", png, false, true},
		{"same tenant, same bytes again", "acme", png, false, true},
		{"same tenant, other bytes", "acme", assetstest.PNG(t, 25, 24), true, false},
		{"other tenant, same bytes", "globex", png, true, false},
		{"other tenant, same bytes again", "globex", png, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, created, err := s.Upload(ctx, tt.tenant, "image/png", bytes.NewReader(tt.data), 0)
			if err != nil {
				t.Fatal(err)
			}
			if created != tt.created || (a.ID == first.ID) != tt.sameID || a.Tenant != tt.tenant {
				t.Fatalf("got %s of %s (created %v); want created %v, same id as %s: %v", a.ID, a.Tenant, created, tt.created, first.ID, tt.sameID)
			}
			if tt.sameID && *a != *first {
				t.Fatalf("a repeated upload answers %+v, want %+v", a, first)
			}
		})
	}
	if got := files(t, filepath.Join(blobs.Root, "assets", "acme")); len(got) != 2 {
		t.Fatalf("acme's objects: %v, want 2 (one per distinct upload)", got)
	}
	if got := files(t, filepath.Join(blobs.Root, "assets", "globex")); len(got) != 1 {
		t.Fatalf("globex's objects: %v, want its own copy", got)
	}
	if left := files(t, filepath.Join(blobs.Root, "uploads")); len(left) > 0 {
		t.Fatalf("temporary uploads left behind: %v", left)
	}

	t.Run("a deleted asset's bytes are new again", func(t *testing.T) {
		if _, err := s.Delete(ctx, "acme", first.ID); err != nil {
			t.Fatal(err)
		}
		if resp, err := shared.Get(ctx, s.hashKey("acme", first.SHA256)); err != nil || len(resp.Kvs) != 0 {
			t.Fatalf("the content index entry outlived its asset (%v)", err)
		}
		a, created, err := s.Upload(ctx, "acme", "image/png", bytes.NewReader(png), 0)
		if err != nil || !created || a.ID == first.ID {
			t.Fatalf("got %+v, created %v, %v; want a new asset", a, created, err)
		}
		// globex's copy is untouched by acme's deletion.
		g, created, err := s.Upload(ctx, "globex", "image/png", bytes.NewReader(png), 0)
		if err != nil || created || g.Tenant != "globex" {
			t.Fatalf("globex: %+v, created %v, %v", g, created, err)
		}
	})
}

func TestStore_ConcurrentIdenticalUploadsStoreOnce(t *testing.T) {
	s, blobs := newStore(t)
	ctx := testCtx(t)
	png := assetstest.PNG(t, 32, 32)
	const n = 6
	ids := make([]string, n)
	made := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, created, err := s.Upload(ctx, "acme", "image/png", bytes.NewReader(png), 0)
			if a != nil {
				ids[i] = a.ID
			}
			made[i], errs[i] = created, err
		}()
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("upload %d: %s, %v; want %s", i, ids[i], errs[i], ids[0])
		}
		if made[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Fatalf("%d uploads say they created the asset, want 1", creators)
	}
	if got := files(t, filepath.Join(blobs.Root, "assets")); len(got) != 1 {
		t.Fatalf("objects: %v, want one", got)
	}
	if left := files(t, filepath.Join(blobs.Root, "uploads")); len(left) > 0 {
		t.Fatalf("temporary uploads left behind: %v", left)
	}
}

// The transaction decides a race that both uploads entered: the second
// writes nothing and gets the first's asset.
func TestStore_CreateLosesToTheIndexedAsset(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	a := &Asset{ID: NewID(), Tenant: "acme", Kind: KindImage, Bytes: 3, SHA256: "abc"}
	b := &Asset{ID: NewID(), Tenant: "acme", Kind: KindImage, Bytes: 3, SHA256: "abc"}
	tests := []struct {
		name   string
		setup  func(t *testing.T)
		asset  *Asset
		winner string // "" when asset is created
	}{
		{"free", nil, a, ""},
		{"taken", nil, b, a.ID},
		{"an entry whose asset is gone is taken over", func(t *testing.T) {
			if _, err := shared.Delete(ctx, s.key("acme", a.ID)); err != nil {
				t.Fatal(err)
			}
		}, b, ""},
		{"other tenant", nil, &Asset{ID: NewID(), Tenant: "globex", Kind: KindImage, Bytes: 3, SHA256: "abc"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			w, err := s.create(ctx, tt.asset)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.winner == "" && w != nil:
				t.Fatalf("lost to %s, want created", w.ID)
			case tt.winner != "" && (w == nil || w.ID != tt.winner):
				t.Fatalf("winner %+v, want %s", w, tt.winner)
			}
			_, err = s.Get(context.Background(), tt.asset.Tenant, tt.asset.ID)
			if (err == nil) != (tt.winner == "") {
				t.Fatalf("record of %s: %v", tt.asset.ID, err)
			}
		})
	}
}
