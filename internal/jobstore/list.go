package jobstore

import (
	"context"
	"fmt"

	"github.com/stickerd/stickerd/internal/jobs"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Listing limits.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
	// listScanLimit bounds the index entries one List call reads when a
	// status filter skips most of them; the caller follows the cursor.
	listScanLimit = 1000
	// scanPageSize is the number of records per range request of Scan.
	scanPageSize = 500
)

// ListOptions selects a page of one tenant's jobs.
type ListOptions struct {
	Tenant string
	// Status, when set, keeps only jobs in that state.
	Status jobs.Status
	// Limit is the page size: DefaultListLimit when 0, at most MaxListLimit.
	Limit int
	// Cursor is the next cursor of the previous page; "" starts at the newest.
	Cursor string
}

// List returns a tenant's jobs newest first and the cursor of the next page,
// "" when there is none. A page reads one snapshot of the store. With a
// Status filter a page may hold fewer than Limit jobs and still have a next
// cursor (at most 1000 index entries are read per call).
func (s *Store) List(ctx context.Context, o ListOptions) ([]*jobs.Job, string, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	prefix := s.keys.tenant(o.Tenant)
	start := prefix
	if o.Cursor != "" {
		after, err := decodeCursor(o.Cursor)
		if err != nil {
			return nil, "", err
		}
		start = prefix + after + "\x00"
	}
	page := MaxListLimit
	if o.Status == "" {
		page = limit + 1 // one more tells whether a next page exists
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var (
		out     []*jobs.Job
		rev     int64
		scanned int
	)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithLimit(int64(page))}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, start, opts...)
		if err != nil {
			return nil, "", classify("list "+o.Tenant, err)
		}
		rev = resp.Header.Revision
		found, err := s.fetch(ctx, rev, resp.Kvs)
		if err != nil {
			return nil, "", err
		}
		for i, kv := range resp.Kvs {
			scanned++
			if j := found[i]; j != nil && (o.Status == "" || j.Status == o.Status) {
				out = append(out, j)
			}
			more := i < len(resp.Kvs)-1 || resp.More
			if len(out) == limit || scanned == s.listScanLimit {
				if !more {
					return out, "", nil
				}
				return out, encodeCursor(string(kv.Key[len(prefix):])), nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return out, "", nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// fetch reads the jobs the index entries name, at revision rev, in one
// read-only transaction. An entry whose job is missing yields nil.
func (s *Store) fetch(ctx context.Context, rev int64, index []*mvccpb.KeyValue) ([]*jobs.Job, error) {
	if len(index) == 0 {
		return nil, nil
	}
	ops := make([]clientv3.Op, len(index))
	for i, kv := range index {
		ops[i] = clientv3.OpGet(s.keys.job(jobs.ID(kv.Value)), clientv3.WithRev(rev))
	}
	resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return nil, classify("list fetch", err)
	}
	out := make([]*jobs.Job, len(index))
	for i, r := range resp.Responses {
		kvs := r.GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			continue
		}
		if out[i], err = decode(kvs[0]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Scan calls fn for every job in key order, reading pages of 500 records
// from one snapshot of the store, and stops at fn's first error, which it
// returns. The scheduler's recovery and outbox sweep use it.
func (s *Store) Scan(ctx context.Context, fn func(*jobs.Job) error) error {
	return s.scanAt(ctx, 0, fn)
}

// scanAt is Scan at revision rev, at the current one when rev is 0.
func (s *Store) scanAt(ctx context.Context, rev int64, fn func(*jobs.Job) error) error {
	prefix := s.keys.jobs()
	start := prefix
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithLimit(int64(s.scanPageSize))}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		rctx, cancel := withTimeout(ctx)
		resp, err := s.cli.Get(rctx, start, opts...)
		cancel()
		if err != nil {
			return classify("scan", err)
		}
		rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			j, err := decode(kv)
			if err != nil {
				return err
			}
			if err := fn(j); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("jobstore: scan: %w", err)
		}
	}
}
