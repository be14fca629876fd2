package wiring

import (
	"context"
	"errors"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/scheduler"
	"github.com/stickerd/stickerd/services/assets"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// assetExpiry is the asset service as the scheduler's expiry sees it
// (scheduler.AssetStore): the scheduler does not import services/.
type assetExpiry struct{ s *assets.Store }

// AssetExpiry adapts the asset records under prefix in cli, with their
// bytes in blobs, for the scheduler leader's expiry.
func AssetExpiry(cli *clientv3.Client, prefix string, blobs blob.Store) scheduler.AssetStore {
	// Listing and deleting never probe a file: no prober is needed.
	return assetExpiry{assets.New(cli, prefix, blobs, media.Prober{})}
}

func (a assetExpiry) ScanAssets(ctx context.Context, fn func(scheduler.AssetRecord) error) error {
	return a.s.Scan(ctx, func(x *assets.Asset) error {
		return fn(scheduler.AssetRecord{Tenant: x.Tenant, ID: x.ID, Bytes: x.Bytes, CreatedAt: x.CreatedAt})
	})
}

func (a assetExpiry) DeleteAsset(ctx context.Context, tenant, id string) error {
	_, err := a.s.Delete(ctx, tenant, id)
	if errors.Is(err, assets.ErrNotFound) {
		return nil
	}
	return err
}

func (a assetExpiry) FinishAssetDeletions(ctx context.Context) error {
	return a.s.FinishDeletions(ctx, nil)
}

var _ scheduler.AssetStore = assetExpiry{}

// blobDeleter and assetStore leave the scheduler's dependencies nil (not
// an interface holding nil) when there is no blob store.
func blobDeleter(b blob.Store) scheduler.BlobDeleter {
	if b == nil {
		return nil
	}
	return b
}

func assetStore(cli *clientv3.Client, b blob.Store) scheduler.AssetStore {
	if b == nil {
		return nil
	}
	return AssetExpiry(cli, jobstore.DefaultPrefix, b)
}
