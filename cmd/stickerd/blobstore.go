package main

import (
	"context"
	"flag"
	"path/filepath"

	"github.com/stickerd/stickerd/internal/blob"
)

// blobOpts are the blob store flags of every command that reads or writes
// blobs (gateway, worker, edge, dev): --blob-url (default
// file://DATA_DIR/blobs), --s3-endpoint, --s3-region, --s3-path-style.
type blobOpts struct {
	fs      *flag.FlagSet
	cfg     blob.Config
	dataDir *string
}

func blobFlags(fs *flag.FlagSet, dataDir *string) *blobOpts {
	o := &blobOpts{fs: fs, cfg: blob.DefaultConfig(""), dataDir: dataDir}
	o.cfg.URL = ""
	blob.RegisterFlags(fs, &o.cfg, "file://DATA_DIR/blobs")
	return o
}

// config is the store's configuration: --blob-url's default filled in,
// S3 downloads for LocalPath into scratch, and, with sec, an https S3
// endpoint verified with --tls-ca.
func (o *blobOpts) config(sec *securityOpts, scratch string) (blob.Config, error) {
	c := o.cfg
	if c.URL == "" {
		c.URL = blob.FileURL(filepath.Join(*o.dataDir, "blobs"))
	}
	c.ScratchDir = scratch
	if sec != nil && sec.tls.CAFile != "" {
		tc, err := sec.tls.Client()
		if err != nil {
			return c, err
		}
		c.TLS = tc
	}
	if err := c.Validate(); err != nil {
		return c, errUsage{o.fs, err}
	}
	return c, nil
}

// open opens the store (it does not dial: an unreachable S3 server fails
// requests with STORAGE_FAILED, not the start).
func (o *blobOpts) open(ctx context.Context, sec *securityOpts, scratch string) (blob.Store, error) {
	c, err := o.config(sec, scratch)
	if err != nil {
		return nil, err
	}
	return blob.Open(ctx, c)
}
