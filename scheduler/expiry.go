package scheduler

import (
	"context"
	"errors"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/metrics"
)

// Retention (issue 14). The leader, and only the leader, sweeps every
// ExpiryInterval of its clock:
//
//   - a finished job's output past OutputTTL (from when the job finished)
//     is deleted in three steps: the record is marked (output_deleted_at;
//     downloads answer 410 from then on), the file is deleted, the
//     record's output key is cleared;
//   - a finished job's record past JobTTL goes the same way for its output
//     first, then leaves the store (jobstore's Delete, conditioned on the
//     revision: a record that changed meanwhile waits for the next sweep);
//   - an upload past AssetTTL (from when it was made) is deleted by the
//     asset service's three steps, unless a queued or running job names it:
//     it waits until that job ends.
//
// Each step is idempotent and every record write is fenced by the leader's
// term, so a sweep cut short by a change of leader is finished by the next
// leader's sweep: an output marked but still stored is deleted again, an
// asset tombstone left behind is finished. The sweep also counts what is
// stored, from the records it reads, for the stickerd_stored_* gauges.

// BlobDeleter deletes stored files (blob.Store); deleting a missing file
// is no error.
type BlobDeleter interface {
	Delete(ctx context.Context, key string) error
}

// AssetRecord is an upload as the expiry sees it.
type AssetRecord struct {
	Tenant, ID string
	Bytes      int64
	CreatedAt  time.Time
}

// AssetStore is what the expiry needs of the asset service
// (services/assets, adapted by internal/wiring).
type AssetStore interface {
	// ScanAssets calls fn for every upload of every tenant.
	ScanAssets(ctx context.Context, fn func(AssetRecord) error) error
	// DeleteAsset deletes one upload; an asset already gone is no error.
	// With a leadership term in ctx it is fenced (jobstore.ErrDeposed).
	DeleteAsset(ctx context.Context, tenant, id string) error
	// FinishAssetDeletions finishes deletions that were cut short.
	FinishAssetDeletions(ctx context.Context) error
}

// jobDeleter is the store's deletion (*jobstore.Store, *jobstore.Memory).
type jobDeleter interface {
	Delete(ctx context.Context, j *jobs.Job) error
}

// ExpiryStats is what one sweep found and did.
type ExpiryStats struct {
	Outputs, Assets, Jobs                          int   // stored after the sweep
	OutputBytes, AssetBytes                        int64 // stored after the sweep
	OutputsExpired, AssetsExpired, JobsExpired     int
	OutputsFinished, AssetsKeptInUse, JobsConflict int
}

// Retention kinds and reasons: the labels of the retention metrics.
const (
	KindAsset  = "asset"
	KindOutput = "output"
	KindJob    = "job"

	ReasonExpired = "expired"
	ReasonDeleted = "deleted"
)

func (s *Scheduler) expiryLoop(ctx context.Context) {
	metrics.RetentionTTL.WithLabelValues(KindOutput).Set(s.cfg.OutputTTL.Seconds())
	metrics.RetentionTTL.WithLabelValues(KindAsset).Set(s.cfg.AssetTTL.Seconds())
	metrics.RetentionTTL.WithLabelValues(KindJob).Set(s.cfg.JobTTL.Seconds())
	if s.deps.Blobs == nil && (s.cfg.OutputTTL > 0 || s.cfg.JobTTL > 0) {
		s.log.Warn("no blob store: outputs and job records are not expired")
	}
	// Only the leader's gauges count (queries take max()): a replica that
	// steps down zeroes its own.
	defer func() {
		for _, k := range []string{KindAsset, KindOutput, KindJob} {
			metrics.StoredObjects.WithLabelValues(k).Set(0)
			metrics.StoredBytes.WithLabelValues(k).Set(0)
			metrics.StoredOldestAge.WithLabelValues(k).Set(0)
		}
	}()
	t := s.clock.NewTicker(s.cfg.ExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if _, err := s.Expire(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("expiry sweep cut short; the next one goes on", "err", err)
		}
	}
}

// Expire runs one retention sweep with ctx, the leader's context (its term
// fences the writes). The loop calls it every ExpiryInterval; tests call it
// directly.
func (s *Scheduler) Expire(ctx context.Context) (ExpiryStats, error) {
	var st ExpiryStats
	now := s.clock.Now()
	inUse := map[string]bool{} // tenant/asset id of queued and running jobs
	var expireOut, expireJob, finish []*jobs.Job
	var oldestOut, oldestJob time.Time
	err := s.store.Scan(ctx, func(j *jobs.Job) error {
		st.Jobs++
		if !j.Status.Terminal() {
			for _, id := range j.AssetIDs() {
				inUse[j.Tenant+"/"+id] = true
			}
			return nil
		}
		end := j.CreatedAt
		if j.FinishedAt != nil {
			end = *j.FinishedAt
		}
		oldestJob = earliest(oldestJob, end)
		stored := j.Output != nil && j.Output.Key != ""
		live := stored && j.OutputDeletedAt == nil
		if live {
			st.Outputs++
			st.OutputBytes += j.Output.Bytes
			oldestOut = earliest(oldestOut, end)
		}
		switch {
		case s.deps.Blobs == nil:
		case s.cfg.JobTTL > 0 && !now.Before(end.Add(s.cfg.JobTTL)):
			expireJob = append(expireJob, j)
		case stored && !live: // marked, the file not yet deleted: finish it
			finish = append(finish, j)
		case live && s.cfg.OutputTTL > 0 && !now.Before(end.Add(s.cfg.OutputTTL)):
			expireOut = append(expireOut, j)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	var errs []error
	for _, j := range finish {
		if _, err := s.deleteOutput(ctx, j, ReasonExpired); err != nil {
			errs = append(errs, err)
			continue
		}
		st.OutputsFinished++
	}
	for _, j := range expireOut {
		if _, err := s.deleteOutput(ctx, j, ReasonExpired); err != nil {
			errs = append(errs, err)
			continue
		}
		st.OutputsExpired++
		st.Outputs--
		st.OutputBytes -= j.Output.Bytes
	}
	if del, ok := s.store.(jobDeleter); ok {
		for _, j := range expireJob {
			live := j.Output != nil && j.Output.Key != "" && j.OutputDeletedAt == nil
			cur, err := s.deleteOutput(ctx, j, ReasonExpired)
			if err == nil {
				err = del.Delete(ctx, cur)
			}
			switch {
			case errors.Is(err, jobstore.ErrConflict):
				st.JobsConflict++ // changed meanwhile: the next sweep decides again
				continue
			case errors.Is(err, jobstore.ErrNotFound):
				continue // gone already
			case err != nil:
				errs = append(errs, err)
				continue
			}
			if live {
				st.Outputs--
				st.OutputBytes -= j.Output.Bytes
			}
			st.JobsExpired++
			st.Jobs--
			metrics.RetentionDeletions.WithLabelValues(KindJob, ReasonExpired).Inc()
		}
	}
	if err := s.expireAssets(ctx, now, inUse, &st); err != nil {
		errs = append(errs, err)
	}
	metrics.StoredObjects.WithLabelValues(KindOutput).Set(float64(st.Outputs))
	metrics.StoredBytes.WithLabelValues(KindOutput).Set(float64(st.OutputBytes))
	metrics.StoredObjects.WithLabelValues(KindJob).Set(float64(st.Jobs))
	metrics.StoredOldestAge.WithLabelValues(KindOutput).Set(age(now, oldestOut))
	metrics.StoredOldestAge.WithLabelValues(KindJob).Set(age(now, oldestJob))
	if len(errs) > 0 || st.JobsConflict > 0 || st.OutputsExpired+st.AssetsExpired+st.JobsExpired > 0 {
		s.log.Info("expiry sweep", "outputs_expired", st.OutputsExpired, "assets_expired", st.AssetsExpired,
			"jobs_expired", st.JobsExpired, "outputs_finished", st.OutputsFinished, "assets_in_use", st.AssetsKeptInUse,
			"errors", len(errs))
	}
	return st, errors.Join(errs...)
}

func (s *Scheduler) expireAssets(ctx context.Context, now time.Time, inUse map[string]bool, st *ExpiryStats) error {
	if s.deps.Assets == nil {
		return nil
	}
	if err := s.deps.Assets.FinishAssetDeletions(ctx); err != nil {
		return err
	}
	var expired []AssetRecord
	var oldest time.Time
	err := s.deps.Assets.ScanAssets(ctx, func(a AssetRecord) error {
		st.Assets++
		st.AssetBytes += a.Bytes
		if s.cfg.AssetTTL > 0 && !now.Before(a.CreatedAt.Add(s.cfg.AssetTTL)) {
			if inUse[a.Tenant+"/"+a.ID] {
				st.AssetsKeptInUse++
			} else {
				expired = append(expired, a)
				return nil
			}
		}
		oldest = earliest(oldest, a.CreatedAt)
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range expired {
		if err := s.deps.Assets.DeleteAsset(ctx, a.Tenant, a.ID); err != nil {
			errs = append(errs, err)
			oldest = earliest(oldest, a.CreatedAt)
			if errors.Is(err, jobstore.ErrDeposed) {
				break
			}
			continue
		}
		st.AssetsExpired++
		st.Assets--
		st.AssetBytes -= a.Bytes
		metrics.RetentionDeletions.WithLabelValues(KindAsset, ReasonExpired).Inc()
		metrics.RetentionDeletedBytes.WithLabelValues(KindAsset, ReasonExpired).Add(float64(a.Bytes))
	}
	metrics.StoredObjects.WithLabelValues(KindAsset).Set(float64(st.Assets))
	metrics.StoredBytes.WithLabelValues(KindAsset).Set(float64(st.AssetBytes))
	metrics.StoredOldestAge.WithLabelValues(KindAsset).Set(age(now, oldest))
	return errors.Join(errs...)
}

// deleteOutput deletes j's output file, if it has one, in three steps:
// mark the record, delete the file, clear the record's key. It returns the
// record as it is after them. A record marked by someone else (a gateway's
// DELETE, an earlier leader) is finished, not counted again.
func (s *Scheduler) deleteOutput(ctx context.Context, j *jobs.Job, reason string) (*jobs.Job, error) {
	if j.Output == nil || j.Output.Key == "" {
		return j, nil
	}
	cur := j
	if j.OutputDeletedAt == nil {
		marked := false
		next, err := s.store.UpdateFrom(ctx, j, func(x *jobs.Job) error {
			if x.Output == nil || x.Output.Key == "" {
				return errSkip
			}
			marked = x.MarkOutputDeleted(s.clock.Now())
			return nil
		})
		switch {
		case errors.Is(err, errSkip):
			return s.store.Get(ctx, j.ID)
		case err != nil:
			return nil, err
		}
		cur = next
		if marked {
			metrics.RetentionDeletions.WithLabelValues(KindOutput, reason).Inc()
			metrics.RetentionDeletedBytes.WithLabelValues(KindOutput, reason).Add(float64(cur.Output.Bytes))
		}
	}
	key := cur.Output.Key
	if err := s.deps.Blobs.Delete(ctx, key); err != nil {
		return nil, err
	}
	next, err := s.store.UpdateFrom(ctx, cur, func(x *jobs.Job) error {
		if !x.ClearDeletedOutput(key) {
			return errSkip
		}
		return nil
	})
	if errors.Is(err, errSkip) {
		return s.store.Get(ctx, j.ID)
	}
	return next, err
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func age(now, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return max(0, now.Sub(t).Seconds())
}
