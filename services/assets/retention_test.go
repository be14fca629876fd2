package assets

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/services/assets/assetstest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// pngs makes each putPNG's bytes differ: the same bytes are one asset.
var pngs atomic.Int32

func putPNG(t *testing.T, s *Store, tenant string) *Asset {
	t.Helper()
	a, err := s.Put(testCtx(t), tenant, "image/png", bytes.NewReader(assetstest.PNG(t, 8+int(pngs.Add(1)), 8)), 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRetention_DeleteIsTenantScopedAndComplete(t *testing.T) {
	s, blobs := newStore(t)
	ctx := testCtx(t)
	a := putPNG(t, s, "acme")
	other := putPNG(t, s, "acme")
	if _, err := s.Delete(ctx, "globex", a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another tenant's delete: %v", err)
	}
	got, err := s.Delete(ctx, "acme", a.ID)
	if err != nil || got.ID != a.ID || got.Bytes != a.Bytes {
		t.Fatalf("delete: %+v %v", got, err)
	}
	if _, err := s.Get(ctx, "acme", a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := blobs.Open(ctx, blob.AssetKey("acme", a.ID)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("the blob is still there: %v", err)
	}
	if _, err := s.Delete(ctx, "acme", a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	var seen []string
	if err := s.Scan(ctx, func(x *Asset) error { seen = append(seen, x.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != other.ID {
		t.Fatalf("scan after delete: %v", seen)
	}
	resp, err := shared.Get(ctx, s.tombstones(), clientv3WithPrefix()...)
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("tombstones left: %v %v", resp, err)
	}
}

// A deletion interrupted after its first step (the process died) is
// finished by FinishDeletions: the blob and the tombstone go.
func TestRetention_FinishesInterruptedDeletions(t *testing.T) {
	s, blobs := newStore(t)
	ctx := testCtx(t)
	a := putPNG(t, s, "acme")
	resp, err := shared.Get(ctx, s.key("acme", a.ID))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.bury(ctx, a, resp.Kvs[0].ModRevision); !ok || err != nil {
		t.Fatalf("bury: %v %v", ok, err)
	}
	if _, err := s.Get(ctx, "acme", a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a buried asset is still found: %v", err)
	}
	var done []Tombstone
	for range 2 { // twice: idempotent
		if err := s.FinishDeletions(ctx, func(ts Tombstone) { done = append(done, ts) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(done) != 1 || done[0].ID != a.ID || done[0].Bytes != a.Bytes {
		t.Fatalf("finished %+v", done)
	}
	if _, err := blobs.Open(ctx, blob.AssetKey("acme", a.ID)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("the blob is still there: %v", err)
	}
}

// The leader's deletion is fenced by its term.
func TestRetention_DeleteFencedByTerm(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	a := putPNG(t, s, "acme")
	termKey := s.prefix + "/term"
	put, err := shared.Put(ctx, termKey, "leader")
	if err != nil {
		t.Fatal(err)
	}
	ended := jobstore.WithTerm(ctx, jobstore.Term{Key: termKey, Rev: put.Header.Revision - 1})
	if _, err := s.Delete(ended, "acme", a.ID); !errors.Is(err, ErrDeposed) {
		t.Fatalf("delete under an ended term: %v", err)
	}
	if _, err := s.Get(ctx, "acme", a.ID); err != nil {
		t.Fatalf("a deposed deletion took effect: %v", err)
	}
	current := jobstore.WithTerm(context.WithoutCancel(ctx), jobstore.Term{Key: termKey, Rev: put.Header.Revision})
	if _, err := s.Delete(current, "acme", a.ID); err != nil {
		t.Fatalf("delete under the current term: %v", err)
	}
}

func clientv3WithPrefix() []clientv3.OpOption { return []clientv3.OpOption{clientv3.WithPrefix()} }
