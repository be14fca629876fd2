package wiring

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/tracing"
	"github.com/stickerd/stickerd/services/gateway"
	"github.com/stickerd/stickerd/services/webhook"
)

// Webhooks delivers a job's final state to its webhook_url, signed, with
// retries, from the scheduler leader. A delivery that fails for good is
// counted and reported as WEBHOOK_FAILED; it never affects the job.
type Webhooks struct {
	sender *webhook.Sender
	errors *errevents.Publisher
	log    *slog.Logger
	sem    chan struct{}
	wg     sync.WaitGroup
	ctx    context.Context
}

// NewWebhooks returns a notifier; deliveries stop when ctx ends.
func NewWebhooks(ctx context.Context, cfg webhook.Config, errs *errevents.Publisher, log *slog.Logger) (*Webhooks, error) {
	s, err := webhook.NewSender(cfg)
	if err != nil {
		return nil, err
	}
	return &Webhooks{sender: s, errors: errs, log: log, sem: make(chan struct{}, 64), ctx: ctx}, nil
}

// Notify implements the scheduler's Notify hook: it never blocks.
func (w *Webhooks) Notify(j *jobs.Job) {
	if j.WebhookURL == "" {
		return
	}
	body, err := json.Marshal(gateway.PublicJob(j))
	if err != nil {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		select {
		case w.sem <- struct{}{}:
		case <-w.ctx.Done():
			return
		}
		defer func() { <-w.sem }()
		// One message id per job end, stable across retries.
		id := "msg_" + string(j.ID) + "_" + string(j.Status)
		// The delivery is a span of the job's trace, when it has one.
		err := w.sender.Deliver(tracing.FromTraceParent(w.ctx, j.TraceParent), j.WebhookURL, id, body)
		switch {
		case err == nil:
			metrics.Webhooks.WithLabelValues("delivered").Inc()
		case w.ctx.Err() != nil:
		default:
			metrics.Webhooks.WithLabelValues("failed").Inc()
			w.log.Warn("webhook failed", "job", j.ID, "err", err)
			if w.errors != nil {
				w.errors.Report(context.Background(), errevents.FromError("scheduler",
					errcode.Wrap(errcode.WebhookFailed, err, "webhook for %s failed", j.ID), string(j.ID), "", j.Tenant))
			}
		}
	}()
}

// Wait waits (bounded) for deliveries in flight.
func (w *Webhooks) Wait(d time.Duration) {
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
