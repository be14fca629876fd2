package batches

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/stickerd/stickerd/internal/jobstore"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const (
	// updateTries bounds Update's compare-and-swap retries.
	updateTries = 16
	// maxTxnOps and maxTxnBytes keep a transaction within etcd's limits
	// (128 operations, 1.5 MiB).
	maxTxnOps   = 128
	maxTxnBytes = 1 << 20
)

// Etcd keeps batches in etcd, beside the jobs:
//
//	<prefix>/batches/<tenant>/<id>              the record, JSON
//	<prefix>/batch-rows/<tenant>/<id>/<page>    a page of 500 rows, JSON (page zero-padded to 5 digits)
//	<prefix>/batches-live/<tenant>/<id>         present while a tracker has work with the batch
//
// The tenant is path-escaped. The rows are written first, then the record
// and its live entry in one transaction; every later write of the record
// is a compare-and-swap that sets or clears the live entry with it.
type Etcd struct {
	cli    *clientv3.Client
	prefix string
}

var _ Store = (*Etcd)(nil)

// NewEtcd returns a store over cli under prefix (jobstore.DefaultPrefix
// when empty).
func NewEtcd(cli *clientv3.Client, prefix string) *Etcd {
	prefix = jobstore.Prefix(prefix)
	return &Etcd{cli: cli, prefix: prefix}
}

func (s *Etcd) record(tenant, id string) string {
	return s.prefix + "/batches/" + url.PathEscape(tenant) + "/" + id
}
func (s *Etcd) rows(tenant, id string) string {
	return s.prefix + "/batch-rows/" + url.PathEscape(tenant) + "/" + id + "/"
}
func (s *Etcd) livePrefix() string { return s.prefix + "/batches-live/" }
func (s *Etcd) live(tenant, id string) string {
	return s.livePrefix() + url.PathEscape(tenant) + "/" + id
}

func (s *Etcd) liveOp(b *Batch) clientv3.Op {
	if b.live() {
		return clientv3.OpPut(s.live(b.Tenant, b.ID), "")
	}
	return clientv3.OpDelete(s.live(b.Tenant, b.ID))
}

// Create implements Store.
func (s *Etcd) Create(ctx context.Context, b *Batch, rows []Row) (*Batch, error) {
	if err := checkRef(b.Tenant, b.ID); err != nil {
		return nil, err
	}
	c := b.Clone()
	ctx, cancel := jobstore.WithTimeout(ctx)
	defer cancel()
	// The pages first, in as few transactions as the limits allow: they
	// mean nothing until the record names them.
	var ops []clientv3.Op
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		_, err := s.cli.Txn(ctx).Then(ops...).Commit()
		ops, size = nil, 0
		return jobstore.Classify("create batch rows", err)
	}
	for i, p := range pages(rows) {
		data, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		if len(ops) == maxTxnOps || (len(ops) > 0 && size+len(data) > maxTxnBytes) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("%s%05d", s.rows(c.Tenant, c.ID), i), string(data)))
		size += len(data)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	key := s.record(c.Tenant, c.ID)
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data)), s.liveOp(c)).
		Commit()
	if err != nil {
		return nil, jobstore.Classify("create batch", err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("%w: %s", ErrExists, c.ID)
	}
	c.Revision = resp.Header.Revision
	return c, nil
}

// Get implements Store.
func (s *Etcd) Get(ctx context.Context, tenant, id string) (*Batch, error) {
	if err := checkRef(tenant, id); err != nil {
		return nil, err
	}
	ctx, cancel := jobstore.WithTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.record(tenant, id))
	if err != nil {
		return nil, jobstore.Classify("get batch", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return decodeBatch(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

func decodeBatch(data []byte, rev int64) (*Batch, error) {
	var b Batch
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("batches: decode: %w", err)
	}
	b.Revision = rev
	return &b, nil
}

// Rows implements Store.
func (s *Etcd) Rows(ctx context.Context, tenant, id string) ([]Row, error) {
	b, err := s.Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := jobstore.WithTimeout(ctx)
	defer cancel()
	prefix := s.rows(tenant, id)
	start, end := prefix, clientv3.GetPrefixRangeEnd(prefix)
	out := make([]Row, 0, b.Total)
	for {
		resp, err := s.cli.Get(ctx, start, clientv3.WithRange(end), clientv3.WithLimit(8))
		if err != nil {
			return nil, jobstore.Classify("get batch rows", err)
		}
		for _, kv := range resp.Kvs {
			var p []Row
			if err := json.Unmarshal(kv.Value, &p); err != nil {
				return nil, fmt.Errorf("batches: decode %s: %w", kv.Key, err)
			}
			out = append(out, p...)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	if len(out) != b.Total {
		return nil, fmt.Errorf("batches: %s has %d rows stored of %d", id, len(out), b.Total)
	}
	return out, nil
}

// Update implements Store.
func (s *Etcd) Update(ctx context.Context, tenant, id string, fn func(*Batch) error) (*Batch, error) {
	for try := 1; ; try++ {
		cur, err := s.Get(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		next := cur.Clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		next.ID, next.Tenant = cur.ID, cur.Tenant
		data, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		key := s.record(tenant, id)
		tctx, cancel := jobstore.WithTimeout(ctx)
		resp, err := s.cli.Txn(tctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.Revision)).
			Then(clientv3.OpPut(key, string(data)), s.liveOp(next)).
			Commit()
		cancel()
		if err != nil {
			return nil, jobstore.Classify("update batch", err)
		}
		if resp.Succeeded {
			next.Revision = resp.Header.Revision
			return next, nil
		}
		if try == updateTries {
			return nil, fmt.Errorf("%w: %s: gave up after %d tries", ErrConflict, id, try)
		}
	}
}

// Live implements Store.
func (s *Etcd) Live(ctx context.Context) ([]*Batch, error) {
	ctx, cancel := jobstore.WithTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.livePrefix(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, jobstore.Classify("list live batches", err)
	}
	var out []*Batch
	for lo := 0; lo < len(resp.Kvs); lo += maxTxnOps {
		kvs := resp.Kvs[lo:min(lo+maxTxnOps, len(resp.Kvs))]
		ops := make([]clientv3.Op, len(kvs))
		for i, kv := range kvs {
			rest := strings.TrimPrefix(string(kv.Key), s.livePrefix())
			tenant, id, _ := strings.Cut(rest, "/")
			t, _ := url.PathUnescape(tenant)
			ops[i] = clientv3.OpGet(s.record(t, id))
		}
		tresp, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, jobstore.Classify("list live batches", err)
		}
		for _, r := range tresp.Responses {
			for _, kv := range r.GetResponseRange().GetKvs() {
				b, err := decodeBatch(kv.Value, kv.ModRevision)
				if err != nil {
					return nil, err
				}
				out = append(out, b)
			}
		}
	}
	return out, nil
}
