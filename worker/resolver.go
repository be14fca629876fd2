package worker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/stickerd/stickerd/monitoring/errcode"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/services/blob"
	"github.com/stickerd/stickerd/services/fetch"
)

// AssetKey is the blob key of a tenant's uploaded asset.
func AssetKey(tenant, assetID string) string { return "assets/" + tenant + "/" + assetID }

// OutputKey is the blob key of a job's output.
func OutputKey(tenant, jobID, format string) string {
	return "outputs/" + tenant + "/" + jobID + "." + format
}

// resolver finds a job's assets: uploaded ones in the blob store (the
// tenant's own only), URLs downloaded into the job's folder.
type resolver struct {
	blobs  blob.Store
	fetch  *fetch.Fetcher
	tenant string
	dir    string
	n      int
}

func (r *resolver) Resolve(ctx context.Context, ref render.AssetRef) (string, error) {
	switch {
	case ref.AssetID != "":
		p, err := r.blobs.LocalPath(ctx, AssetKey(r.tenant, ref.AssetID))
		if errors.Is(err, blob.ErrNotFound) {
			return "", errcode.New(errcode.AssetNotFound, "%s: no asset %s", ref.Field, ref.AssetID)
		}
		if err != nil {
			return "", errcode.Wrap(errcode.StorageFailed, err, "%s: reading asset %s", ref.Field, ref.AssetID)
		}
		return p, nil
	case ref.URL != "":
		r.n++
		dst := filepath.Join(r.dir, fmt.Sprintf("download-%d", r.n))
		if _, err := r.fetch.ToFile(ctx, ref.URL, dst); err != nil {
			code := errcode.AssetFetchFailed
			if errors.Is(err, fetch.ErrTooLarge) {
				code = errcode.AssetTooLarge
			}
			return "", errcode.Wrap(code, err, "%s: %v", ref.Field, err)
		}
		return dst, nil
	}
	return "", errcode.New(errcode.AssetNotFound, "%s: workers resolve asset ids and URLs only", ref.Field)
}
