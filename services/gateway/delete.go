package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/services/assets"
	"github.com/stickerd/stickerd/services/submit"
)

// Deletion on request (issue 14). Both deletions take the steps the
// scheduler leader's retention sweep takes, and the sweep finishes one
// that a crash cut short.

// AssetDeleter deletes a tenant's upload (*assets.Store): assets.ErrNotFound
// for another tenant's or a missing one.
type AssetDeleter interface {
	Delete(ctx context.Context, tenant, id string) (*assets.Asset, error)
}

// OutputDeleter marks a job's output deleted and clears its key once the
// file is gone (*submit.Submitter).
type OutputDeleter interface {
	MarkOutputDeleted(ctx context.Context, tenant string, id jobs.ID) (*jobs.Job, bool, error)
	OutputFileDeleted(ctx context.Context, id jobs.ID, key string) error
}

// BlobDeleter deletes stored files (blob.Store).
type BlobDeleter interface {
	Delete(ctx context.Context, key string) error
}

// deleteAsset is DELETE /v1/assets/{id}: 204; another tenant's or a
// missing asset is 404 ASSET_NOT_FOUND; an asset that a queued or running
// job of the tenant's uses is 409 CONFLICT (delete it once the job ends).
func (g *Gateway) deleteAsset(c *gin.Context) {
	del, ok := g.deps.Assets.(AssetDeleter)
	if !ok {
		g.fail(c, errcode.New(errcode.Internal, "this gateway's asset store cannot delete"))
		return
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	tenant, id := tenantOf(c), c.Param("id")
	if _, err := g.deps.Assets.Get(ctx, tenant, id); err != nil {
		g.fail(c, err)
		return
	}
	used, err := g.assetInUse(ctx, tenant, id)
	if err != nil {
		g.fail(c, err)
		return
	}
	if used != "" {
		g.fail(c, problem.New(errcode.Conflict, "asset %s is used by job %s, which has not finished; delete it once the job ends", id, used))
		return
	}
	a, err := del.Delete(ctx, tenant, id)
	if a == nil && err != nil {
		g.fail(c, err)
		return
	}
	if err != nil { // the asset is gone for clients; the leader finishes the rest
		g.log.Warn("asset deleted, its bytes not yet", "asset", id, "err", err)
	}
	metrics.RetentionDeletions.WithLabelValues("asset", "deleted").Inc()
	metrics.RetentionDeletedBytes.WithLabelValues("asset", "deleted").Add(float64(a.Bytes))
	c.Status(http.StatusNoContent)
}

// assetInUse returns a queued or running job of tenant's that names asset
// id, or "".
func (g *Gateway) assetInUse(ctx context.Context, tenant, id string) (jobs.ID, error) {
	for _, st := range []jobs.Status{jobs.Queued, jobs.Running} {
		cursor := ""
		for {
			page, next, err := g.deps.Jobs.List(ctx, jobstore.ListOptions{Tenant: tenant, Status: st, Limit: jobstore.MaxListLimit, Cursor: cursor})
			if err != nil {
				return "", err
			}
			for _, j := range page {
				for _, ref := range j.AssetIDs() {
					if ref == id {
						return j.ID, nil
					}
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return "", nil
}

// deleteOutput is DELETE /v1/renders/{id}/output: 204, the job record
// stays and its output answers 410 OUTPUT_GONE from now on; 404 for
// another tenant's job, 409 for a job that has not succeeded. Deleting a
// deleted output again is 204.
func (g *Gateway) deleteOutput(c *gin.Context) {
	od, ok := g.deps.Submitter.(OutputDeleter)
	bd, ok2 := g.deps.Blobs.(BlobDeleter)
	if !ok || !ok2 {
		g.fail(c, errcode.New(errcode.Internal, "this gateway cannot delete outputs"))
		return
	}
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	j, marked, err := od.MarkOutputDeleted(ctx, tenantOf(c), jobs.ID(c.Param("id")))
	switch {
	case errors.Is(err, submit.ErrNoOutput):
		g.fail(c, problem.New(errcode.Conflict, "the job has not succeeded; it has no output to delete"))
		return
	case err != nil:
		g.fail(c, notFoundIfInvalid(err))
		return
	}
	if marked {
		metrics.RetentionDeletions.WithLabelValues("output", "deleted").Inc()
		metrics.RetentionDeletedBytes.WithLabelValues("output", "deleted").Add(float64(j.Output.Bytes))
	}
	if key := j.Output.Key; key != "" {
		// The file, then the key; a failure here is finished by the
		// leader's sweep, and the output is gone for clients already.
		if err := bd.Delete(ctx, key); err != nil {
			g.log.Warn("output marked deleted, its file not yet", "job", j.ID, "err", err)
		} else if err := od.OutputFileDeleted(ctx, j.ID, key); err != nil {
			g.log.Warn("output file deleted, its key not yet cleared", "job", j.ID, "err", err)
		}
	}
	c.Status(http.StatusNoContent)
}

// outputGone is the answer for a deleted or expired output.
func outputGone(j *jobs.Job, cause error) error {
	return &problem.Error{Code: errcode.OutputGone, Detail: "the output of job " + string(j.ID) + " was deleted or expired; the job record stays", Cause: cause}
}
