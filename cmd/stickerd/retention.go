package main

import (
	"context"
	"flag"
	"path/filepath"
	"time"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/scheduler"
)

// retentionOpts are the retention flags of the commands that run a
// scheduler (scheduler, dev): --output-ttl, --asset-ttl, --job-ttl (0
// keeps forever). The scheduler leader enforces them, so a standalone
// scheduler also takes the blob store flags (--blob-url, --s3-…): without
// --blob-url it expires no outputs, uploads or job records.
type retentionOpts struct {
	output, asset, job time.Duration
	blobs              *blobOpts // standalone scheduler only
}

func retentionFlags(fs *flag.FlagSet, withBlobs bool) *retentionOpts {
	d := scheduler.DefaultConfig()
	o := &retentionOpts{}
	fs.DurationVar(&o.output, "output-ttl", d.OutputTTL, "how long a finished job's output is kept, from when it finished; 0 keeps forever")
	fs.DurationVar(&o.asset, "asset-ttl", d.AssetTTL, "how long an upload is kept, from when it was made (longer while a queued or running job uses it); 0 keeps forever")
	fs.DurationVar(&o.job, "job-ttl", d.JobTTL, "how long a finished job's record is kept, from when it finished (its output goes with it); 0 keeps forever")
	if withBlobs {
		o.blobs = &blobOpts{fs: fs, cfg: blob.DefaultConfig("")}
		o.blobs.cfg.URL = ""
		blob.RegisterFlags(fs, &o.blobs.cfg, "none: then no output, upload or job record expires")
	}
	return o
}

func (o *retentionOpts) apply(cfg *scheduler.Config) {
	cfg.OutputTTL, cfg.AssetTTL, cfg.JobTTL = o.output, o.asset, o.job
}

// open is the standalone scheduler's blob store: nil without --blob-url.
func (o *retentionOpts) open(ctx context.Context, sec *securityOpts, scratch string) (blob.Store, error) {
	if o.blobs == nil || o.blobs.cfg.URL == "" {
		return nil, nil
	}
	dir := filepath.Dir(scratch)
	o.blobs.dataDir = &dir
	return o.blobs.open(ctx, sec, scratch)
}
