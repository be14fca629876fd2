package worker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render"
)

// remoteDir is a Dir the scratch cache cannot read in place, as it cannot
// an S3 bucket; it counts Opens.
type remoteDir struct {
	blob.Dir
	mu    *sync.Mutex
	opens map[string]int
}

func (r remoteDir) Open(ctx context.Context, key string) (blob.Object, error) {
	r.mu.Lock()
	r.opens[key]++
	r.mu.Unlock()
	return r.Dir.Open(ctx, key)
}

// Stat tells the size without opening, as S3's HEAD does.
func (r remoteDir) Stat(ctx context.Context, key string) (blob.ObjectInfo, error) {
	p, err := r.Dir.LocalPath(ctx, key)
	if err != nil {
		return blob.ObjectInfo{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return blob.ObjectInfo{}, err
	}
	return blob.ObjectInfo{Size: st.Size()}, nil
}

func TestResolver_AssetsThroughTheScratchCache(t *testing.T) {
	ctx := context.Background()
	store := remoteDir{Dir: blob.Dir{Root: t.TempDir()}, mu: &sync.Mutex{}, opens: map[string]int{}}
	key := blob.AssetKey("acme", "ast_src")
	if _, err := store.Put(ctx, key, strings.NewReader(strings.Repeat("v", 100)), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, blob.AssetKey("acme", "ast_other"), strings.NewReader(strings.Repeat("o", 100)), 0); err != nil {
		t.Fatal(err)
	}
	// Room for one asset: the second evicts the first unless it is pinned.
	scratch, err := blob.NewScratch(store, filepath.Join(t.TempDir(), "scratch"), 150)
	if err != nil {
		t.Fatal(err)
	}
	ref := render.AssetRef{Field: "source.asset_id", AssetID: "ast_src"}
	jobs := make([]*resolver, 4)
	paths := make([]string, len(jobs))
	var wg sync.WaitGroup
	for i := range jobs {
		jobs[i] = &resolver{blobs: scratch, tenant: "acme", base: filepath.Join(t.TempDir(), "job")}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := jobs[i].Resolve(ctx, ref)
			if err != nil {
				t.Error(err)
			}
			paths[i] = p
		}()
	}
	wg.Wait()
	if n := store.opens[key]; n != 1 {
		t.Fatalf("four jobs opened the asset %d times, want once", n)
	}
	// A running job's input survives another asset's download.
	other := &resolver{blobs: scratch, tenant: "acme", base: filepath.Join(t.TempDir(), "job")}
	if _, err := other.Resolve(ctx, render.AssetRef{Field: "f", AssetID: "ast_other"}); err != nil {
		t.Fatal(err)
	}
	other.cleanup()
	for _, r := range jobs {
		r.cleanup()
	}
	if b, err := os.ReadFile(paths[0]); err != nil || len(b) != 100 {
		t.Fatalf("the pinned input went while its jobs ran: %v", err)
	}
	if n, _ := scratch.Stats(); n > 150 {
		t.Fatalf("the cache holds %d bytes once the jobs ended, over 150", n)
	}
	t.Run("another tenant's asset is not found", func(t *testing.T) {
		r := &resolver{blobs: scratch, tenant: "globex", base: filepath.Join(t.TempDir(), "job")}
		defer r.cleanup()
		_, err := r.Resolve(ctx, ref)
		if errcode.Of(err) != errcode.AssetNotFound {
			t.Fatalf("err = %v, want ASSET_NOT_FOUND", err)
		}
	})
}
