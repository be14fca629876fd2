package batches

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/jobs"
)

// JobSource is what a tracker reads of the job store (*jobstore.Store).
type JobSource interface {
	JobReader
	// WatchJobs reports every change of a job record from fromRevision
	// on (0: from now).
	WatchJobs(ctx context.Context, fromRevision int64) (<-chan jobs.Event, error)
}

// Deliverer sends a signed webhook (webhook.Sender.Deliver): nil once the
// receiver took it.
type Deliverer func(ctx context.Context, url, id string, body []byte) error

// TrackerConfig tunes a Tracker. Zero fields take DefaultTrackerConfig's.
type TrackerConfig struct {
	// Sweep is how often every batch still running is checked, besides
	// the checks its jobs' ends trigger: what a watch missed (a tracker
	// that was down) is caught up this way.
	Sweep time.Duration
	// Settle gathers the ends of one batch's jobs for this long before the
	// batch is checked, so that a thousand rows ending together cost a
	// few checks, not a thousand.
	Settle time.Duration
	// ClaimTimeout is how long a claimed webhook delivery may stay
	// pending before another tracker takes it over (its claimer died).
	ClaimTimeout time.Duration
	// Deliveries bounds the webhooks delivered at once.
	Deliveries int
}

// DefaultTrackerConfig: a sweep every 10 s, 200 ms of settling, a claim
// taken over after 5 minutes.
func DefaultTrackerConfig() TrackerConfig {
	return TrackerConfig{Sweep: 10 * time.Second, Settle: 200 * time.Millisecond, ClaimTimeout: 5 * time.Minute, Deliveries: 16}
}

// Validate reports a setting that cannot work.
func (c *TrackerConfig) Validate() error {
	if c.Sweep < 0 || c.Settle < 0 || c.ClaimTimeout < 0 || c.Deliveries < 0 {
		return errors.New("batches: tracker durations and Deliveries cannot be negative")
	}
	return nil
}

func (c TrackerConfig) withDefaults() TrackerConfig {
	d := DefaultTrackerConfig()
	if c.Sweep == 0 {
		c.Sweep = d.Sweep
	}
	if c.Settle == 0 {
		c.Settle = d.Settle
	}
	if c.ClaimTimeout == 0 {
		c.ClaimTimeout = d.ClaimTimeout
	}
	if c.Deliveries == 0 {
		c.Deliveries = d.Deliveries
	}
	return c
}

// Tracker ends batches whose rows have all ended, with their final counts,
// and sends each one's webhook once. Any number may run (one per
// scheduler, say): ending a batch is a compare-and-swap that one of them
// wins, and only the winner delivers; a delivery whose claimer died is
// taken over after ClaimTimeout (the receiver sees the same webhook-id
// again, and drops it as a duplicate).
type Tracker struct {
	cfg     TrackerConfig
	store   Store
	jobs    JobSource
	deliver Deliverer
	clock   clock.Clock
	log     *slog.Logger

	kick chan ref
	sem  chan struct{}
	wg   sync.WaitGroup

	// unfinished are, for each running batch checked before, the jobs of
	// its rows that had not ended then: a check reads those again, not
	// every row.
	mu         sync.Mutex
	unfinished map[ref][]jobs.ID
}

type ref struct{ tenant, id string }

// NewTracker returns a tracker; deliver may be nil (no webhooks are sent,
// batches still end). A nil log discards.
func NewTracker(cfg TrackerConfig, store Store, js JobSource, deliver Deliverer, clk clock.Clock, log *slog.Logger) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil || js == nil {
		return nil, errors.New("batches: a tracker needs a batch store and a job source")
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Tracker{cfg: cfg, store: store, jobs: js, deliver: deliver, clock: clk, log: log.With("component", "batches"),
		kick: make(chan ref, 4096), sem: make(chan struct{}, cfg.Deliveries), unfinished: map[ref][]jobs.ID{}}, nil
}

// JobEnded tells the tracker a job ended (the scheduler's Notify hook may
// call it besides the tracker's own watch). It never blocks: when the
// tracker is behind, the sweep catches up.
func (t *Tracker) JobEnded(j *jobs.Job) {
	if j.BatchID == "" || !j.Status.Terminal() {
		return
	}
	select {
	case t.kick <- ref{j.Tenant, j.BatchID}:
	default:
	}
}

// Run follows the job records and sweeps the running batches until ctx
// ends, then waits for deliveries in flight.
func (t *Tracker) Run(ctx context.Context) {
	defer t.wg.Wait()
	go t.watch(ctx)
	t.sweep(ctx)
	sweep := time.NewTicker(t.cfg.Sweep)
	defer sweep.Stop()
	pending := map[ref]bool{}
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			t.sweep(ctx)
		case r := <-t.kick:
			pending[r] = true
			if settle == nil {
				settle = time.After(t.cfg.Settle)
			}
		case <-settle:
			settle = nil
			for r := range pending {
				if err := t.Check(ctx, r.tenant, r.id); err != nil && ctx.Err() == nil {
					t.log.Warn("checking a batch failed; the sweep tries again", "batch", r.id, "err", err)
				}
			}
			clear(pending)
		}
	}
}

// watch turns every terminal change of a batch's job into a check.
func (t *Tracker) watch(ctx context.Context) {
	for ctx.Err() == nil {
		events, err := t.jobs.WatchJobs(ctx, 0)
		if err == nil {
			for ev := range events {
				if !ev.Deleted && ev.Job != nil {
					t.JobEnded(ev.Job)
				}
			}
		} else {
			t.log.Warn("watching jobs failed; retrying", "err", err)
		}
		if t.clock.Sleep(ctx, time.Second) != nil {
			return
		}
	}
}

// sweep checks every batch a tracker still has work with.
func (t *Tracker) sweep(ctx context.Context) {
	live, err := t.store.Live(ctx)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("listing running batches failed", "err", err)
		}
		return
	}
	for _, b := range live {
		if err := t.check(ctx, b); err != nil && ctx.Err() == nil {
			t.log.Warn("checking a batch failed", "batch", b.ID, "err", err)
		}
	}
}

// errAlready aborts an update that another tracker made first.
var errAlready = errors.New("batches: already done")

// Check ends the batch when every row has ended, and delivers its webhook
// when it is this tracker's to deliver.
func (t *Tracker) Check(ctx context.Context, tenant, id string) error {
	b, err := t.store.Get(ctx, tenant, id)
	if errors.Is(err, ErrNotFound) {
		return nil // a job of a batch whose record was never written
	}
	if err != nil {
		return err
	}
	return t.check(ctx, b)
}

func (t *Tracker) check(ctx context.Context, b *Batch) error {
	key := ref{b.Tenant, b.ID}
	if b.Ended() {
		t.forget(key)
		return t.takeOver(ctx, b)
	}
	// First the rows that had not ended at the last check, if any.
	t.mu.Lock()
	ids, known := t.unfinished[key]
	t.mu.Unlock()
	if known {
		js, _, err := t.jobs.GetMany(ctx, ids)
		if err != nil {
			return err
		}
		var still []jobs.ID
		for i, j := range js {
			if j != nil && !j.Status.Terminal() {
				still = append(still, ids[i])
			}
		}
		t.remember(key, still)
		if len(still) > 0 {
			return nil
		}
	}
	// Then every row, for the final counts (or the first look).
	rows, err := t.store.Rows(ctx, b.Tenant, b.ID)
	if err != nil {
		return err
	}
	all := JobIDs(rows)
	js, _, err := t.jobs.GetMany(ctx, all)
	if err != nil {
		return err
	}
	c := Count(rows, js)
	if c.Unfinished() > 0 {
		var still []jobs.ID
		for i, j := range js {
			if j != nil && !j.Status.Terminal() {
				still = append(still, all[i])
			}
		}
		t.remember(key, still)
		return nil
	}
	t.forget(key)
	now := t.clock.Now().UTC()
	ended, err := t.store.Update(ctx, b.Tenant, b.ID, func(b *Batch) error {
		if b.Ended() {
			return errAlready
		}
		b.Status = Completed
		if b.CancelRequested {
			b.Status = Canceled
		}
		b.FinishedAt, b.Counts = &now, &c
		if b.WebhookURL != "" {
			b.Webhook, b.WebhookClaimed = WebhookPending, &now
		}
		return nil
	})
	switch {
	case errors.Is(err, errAlready):
		return nil
	case err != nil:
		return err
	}
	t.log.Info("batch ended", "batch", ended.ID, "tenant", ended.Tenant, "status", ended.Status,
		"succeeded", c.Succeeded, "failed", c.Failed, "canceled", c.Canceled, "rejected", c.Rejected)
	if ended.Webhook == WebhookPending {
		t.send(ctx, ended, rows)
	}
	return nil
}

func (t *Tracker) remember(key ref, ids []jobs.ID) {
	t.mu.Lock()
	t.unfinished[key] = ids
	t.mu.Unlock()
}

func (t *Tracker) forget(key ref) {
	t.mu.Lock()
	delete(t.unfinished, key)
	t.mu.Unlock()
}

// takeOver claims an ended batch's webhook whose claimer went quiet.
func (t *Tracker) takeOver(ctx context.Context, b *Batch) error {
	now := t.clock.Now().UTC()
	if b.Webhook != WebhookPending || (b.WebhookClaimed != nil && now.Sub(*b.WebhookClaimed) < t.cfg.ClaimTimeout) {
		return nil
	}
	claimed, err := t.store.Update(ctx, b.Tenant, b.ID, func(b *Batch) error {
		if b.Webhook != WebhookPending || (b.WebhookClaimed != nil && now.Sub(*b.WebhookClaimed) < t.cfg.ClaimTimeout) {
			return errAlready
		}
		b.WebhookClaimed = &now
		return nil
	})
	switch {
	case errors.Is(err, errAlready):
		return nil
	case err != nil:
		return err
	}
	rows, err := t.store.Rows(ctx, b.Tenant, b.ID)
	if err != nil {
		return err
	}
	t.send(ctx, claimed, rows)
	return nil
}

// WebhookID is the webhook-id of a batch's end, the same on every retry
// and takeover.
func WebhookID(b *Batch) string { return "msg_" + b.ID + "_" + b.Status }

// send delivers the webhook in the background and records the outcome.
func (t *Tracker) send(ctx context.Context, b *Batch, rows []Row) {
	body, err := json.Marshal(NewView(b, rows, *b.Counts))
	if err != nil || t.deliver == nil {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		select {
		case t.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-t.sem }()
		err := t.deliver(ctx, b.WebhookURL, WebhookID(b), body)
		if ctx.Err() != nil {
			return // a shutdown: the claim runs out and another tracker delivers
		}
		outcome := WebhookDelivered
		if err != nil {
			outcome = WebhookFailed
			t.log.Warn("batch webhook failed", "batch", b.ID, "err", err)
		}
		_, uerr := t.store.Update(context.WithoutCancel(ctx), b.Tenant, b.ID, func(b *Batch) error {
			if b.Webhook != WebhookPending {
				return errAlready
			}
			b.Webhook = outcome
			return nil
		})
		if uerr != nil && !errors.Is(uerr, errAlready) {
			t.log.Warn("recording a batch webhook's outcome failed", "batch", b.ID, "err", fmt.Errorf("%w", uerr))
		}
	}()
}
