package assets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobstore"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Deletion (DELETE /v1/assets/{id}, and the scheduler leader's expiry of
// assets past --asset-ttl) takes three steps, each idempotent:
//
//  1. one transaction removes the record (and its content index entry)
//     and writes a tombstone under
//     <prefix>/asset-deletions/<tenant>/<id> naming the blob, conditioned
//     on the record's revision (and, for the leader, on its election term:
//     see jobstore.WithTerm). From here on the asset is not found: a render
//     naming it is refused with ASSET_NOT_FOUND.
//  2. the blob is deleted (deleting a missing blob is no error);
//  3. the tombstone is deleted.
//
// A process that dies between the steps leaves a tombstone, which the
// leader's next sweep finishes (FinishDeletions), whichever replica leads
// by then.

// ErrDeposed is jobstore.ErrDeposed: a fenced deletion made under a
// leadership term that has ended; nothing was written.
var ErrDeposed = jobstore.ErrDeposed

// scanPage is the number of records per range request of Scan.
const scanPage = 500

// Tombstone is an asset deletion that has not finished: its record is gone,
// its blob and this tombstone may not be.
type Tombstone struct {
	Tenant string `json:"tenant"`
	ID     string `json:"id"`
	Blob   string `json:"blob"`
	Bytes  int64  `json:"bytes"`
}

func (s *Store) tombstones() string { return s.prefix + "/asset-deletions/" }

func (s *Store) tombstone(tenant, id string) string {
	return s.tombstones() + url.PathEscape(tenant) + "/" + id
}

// blobKey is where an asset's bytes are: the one place that says so for
// deletion.
func blobKey(a *Asset) string { return blob.AssetKey(a.Tenant, a.ID) }

// Scan calls fn for every asset record of every tenant, in pages (each
// page one consistent read), in key order. An error of fn stops it.
func (s *Store) Scan(ctx context.Context, fn func(*Asset) error) error {
	return s.scanPrefix(ctx, s.prefix+"/assets/", func(key string, v []byte) error {
		var a Asset
		if err := json.Unmarshal(v, &a); err != nil {
			return nil // not an asset record; nothing to expire
		}
		return fn(&a)
	})
}

func (s *Store) scanPrefix(ctx context.Context, prefix string, fn func(key string, v []byte) error) error {
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		rctx, cancel := s.withTimeout(ctx)
		resp, err := s.cli.Get(rctx, from, clientv3.WithRange(end), clientv3.WithLimit(scanPage))
		cancel()
		if err != nil {
			return storeErr("scan "+prefix, err)
		}
		for _, kv := range resp.Kvs {
			if err := fn(string(kv.Key), kv.Value); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Delete deletes tenant's asset id (the three steps above) and returns the
// record it deleted. Another tenant's asset, like a missing one, is
// ErrNotFound. With a leadership term in ctx the first step is fenced
// (ErrDeposed). A failure after the first step is returned with the asset:
// the deletion has happened for clients, and the leader finishes it.
func (s *Store) Delete(ctx context.Context, tenant, id string) (*Asset, error) {
	if CheckTenant(tenant) != nil || !ValidID(id) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	key := s.key(tenant, id)
	for try := 0; ; try++ {
		rctx, cancel := s.withTimeout(ctx)
		resp, err := s.cli.Get(rctx, key)
		cancel()
		if err != nil {
			return nil, storeErr("get "+id, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		var a Asset
		if err := json.Unmarshal(resp.Kvs[0].Value, &a); err != nil {
			return nil, errcode.Wrap(errcode.Internal, err, "decoding asset %s", id)
		}
		done, err := s.bury(ctx, &a, resp.Kvs[0].ModRevision)
		if err != nil {
			return nil, err
		}
		if !done {
			if try < 3 {
				continue // the record changed under us: read it again
			}
			return nil, errcode.New(errcode.StateStoreUnavailable, "asset %s keeps changing; try again", id)
		}
		return &a, s.finish(ctx, Tombstone{Tenant: a.Tenant, ID: a.ID, Blob: blobKey(&a), Bytes: a.Bytes})
	}
}

// bury is the first step: the record goes and its tombstone comes, if the
// record is still at rev. It reports false when the record changed.
func (s *Store) bury(ctx context.Context, a *Asset, rev int64) (bool, error) {
	ts, err := json.Marshal(Tombstone{Tenant: a.Tenant, ID: a.ID, Blob: blobKey(a), Bytes: a.Bytes})
	if err != nil {
		return false, errcode.Wrap(errcode.Internal, err, "encoding a tombstone")
	}
	key := s.key(a.Tenant, a.ID)
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)}
	var elseOps []clientv3.Op
	t, fenced := jobstore.TermOf(ctx)
	if fenced {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(t.Key), "=", t.Rev))
		elseOps = append(elseOps, clientv3.OpGet(t.Key, clientv3.WithKeysOnly()))
	}
	then := []clientv3.Op{clientv3.OpDelete(key), clientv3.OpPut(s.tombstone(a.Tenant, a.ID), string(ts))}
	if a.SHA256 != "" { // its content index entry goes with it, if it names this asset
		hk := s.hashKey(a.Tenant, a.SHA256)
		then = append(then, clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.Value(hk), "=", a.ID)},
			[]clientv3.Op{clientv3.OpDelete(hk)}, nil))
	}
	rctx, cancel := s.withTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Txn(rctx).If(cmps...).Then(then...).Else(elseOps...).Commit()
	if err != nil {
		return false, storeErr("delete "+a.ID, err)
	}
	if resp.Succeeded {
		return true, nil
	}
	if fenced {
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 || kvs[0].CreateRevision != t.Rev {
			return false, fmt.Errorf("%w: %s (term %d)", ErrDeposed, t.Key, t.Rev)
		}
	}
	return false, nil
}

// finish is the second and third steps.
func (s *Store) finish(ctx context.Context, ts Tombstone) error {
	if err := s.blobs.Delete(ctx, ts.Blob); err != nil && !errors.Is(err, blob.ErrNotFound) {
		return errcode.Wrap(errcode.StorageFailed, err, "deleting the bytes of asset %s", ts.ID)
	}
	rctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if _, err := s.cli.Delete(rctx, s.tombstone(ts.Tenant, ts.ID)); err != nil {
		return storeErr("delete tombstone "+ts.ID, err)
	}
	return nil
}

// FinishDeletions finishes every deletion a crash or a failure
// interrupted (its tombstone is still there), calling done, when not nil,
// for each one finished. It stops at the first failure.
func (s *Store) FinishDeletions(ctx context.Context, done func(Tombstone)) error {
	var pending []Tombstone
	err := s.scanPrefix(ctx, s.tombstones(), func(key string, v []byte) error {
		var ts Tombstone
		if err := json.Unmarshal(v, &ts); err != nil || ts.Blob == "" || strings.Contains(ts.Blob, "..") {
			return nil
		}
		pending = append(pending, ts)
		return nil
	})
	if err != nil {
		return err
	}
	for _, ts := range pending {
		if err := s.finish(ctx, ts); err != nil {
			return err
		}
		if done != nil {
			done(ts)
		}
	}
	return nil
}
