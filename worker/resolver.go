package worker

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/fetch"
	"github.com/stickerd/stickerd/render"
)

// resolver finds a job's assets: uploaded ones in the blob store (the
// tenant's own only) through the worker's scratch cache, pinned until the
// job ends, and URLs downloaded next to the job's output.
type resolver struct {
	blobs    *blob.Scratch
	fetch    *fetch.Fetcher
	tenant   string
	base     string // downloads are base.download-N, removed with the job
	n        int
	files    []string
	releases []func() // unpin the job's cached assets
}

// cleanup removes the job's downloads and unpins its cached assets.
func (r *resolver) cleanup() {
	for _, f := range r.files {
		os.Remove(f)
	}
	for _, release := range r.releases {
		release()
	}
}

func (r *resolver) Resolve(ctx context.Context, ref render.AssetRef) (_ string, err error) {
	ctx, end := traceFetch(ctx, ref)
	defer func() { end(err) }()
	switch {
	case ref.AssetID != "":
		p, release, err := r.blobs.Acquire(ctx, blob.AssetKey(r.tenant, ref.AssetID))
		if errors.Is(err, blob.ErrNotFound) {
			return "", errcode.New(errcode.AssetNotFound, "%s: no asset %s", ref.Field, ref.AssetID)
		}
		if err != nil {
			return "", errcode.Wrap(errcode.StorageFailed, err, "%s: reading asset %s", ref.Field, ref.AssetID)
		}
		r.releases = append(r.releases, release)
		return p, nil
	case ref.URL != "":
		r.n++
		dst := fmt.Sprintf("%s.download-%d", r.base, r.n)
		r.files = append(r.files, dst)
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
