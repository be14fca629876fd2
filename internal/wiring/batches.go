package wiring

import (
	"context"
	"log/slog"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/templates"
	"github.com/stickerd/stickerd/services/batches"
	"github.com/stickerd/stickerd/services/gateway"
)

// templateDeps gives a gateway its template and batch stores on cli, the
// batches' jobs in store.
func templateDeps(cli *clientv3.Client, store *jobstore.Store, d *gateway.Deps) {
	d.Templates = templates.NewEtcd(cli, jobstore.DefaultPrefix)
	d.Batches = batches.NewEtcd(cli, jobstore.DefaultPrefix)
	d.BatchJobs = store
}

// startBatchTracker runs a batch tracker over cli until ctx ends: it ends
// batches whose rows have all ended and sends their webhooks with
// deliver (none when nil). Trackers in several processes share the work
// safely.
func startBatchTracker(ctx context.Context, cli *clientv3.Client, store *jobstore.Store, deliver batches.Deliverer, log *slog.Logger) error {
	t, err := batches.NewTracker(batches.DefaultTrackerConfig(), batches.NewEtcd(cli, jobstore.DefaultPrefix), store, deliver, nil, log)
	if err != nil {
		return err
	}
	go t.Run(ctx)
	return nil
}

// DeliverBatch sends a batch's webhook with the sender of job webhooks
// (the same secret and retries), counting it as they are counted.
func (w *Webhooks) DeliverBatch(ctx context.Context, url, id string, body []byte) error {
	err := w.sender.Deliver(ctx, url, id, body)
	switch {
	case err == nil:
		metrics.Webhooks.WithLabelValues("delivered").Inc()
	case ctx.Err() != nil:
	default:
		metrics.Webhooks.WithLabelValues("failed").Inc()
		if w.errors != nil {
			w.errors.Report(context.Background(), errevents.FromError("gateway",
				errcode.Wrap(errcode.WebhookFailed, err, "batch webhook %s failed", id), "", "", ""))
		}
	}
	return err
}
