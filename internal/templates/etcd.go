package templates

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/stickerd/stickerd/internal/jobstore"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// updateTries bounds Update's compare-and-swap retries.
const updateTries = 8

// Etcd keeps templates in etcd, beside the jobs:
//
//	<prefix>/templates/<tenant>/head/<id>                   the latest version, JSON
//	<prefix>/templates/<tenant>/versions/<id>/<version>     every version, JSON (version zero-padded to 10 digits)
//	<prefix>/templates/<tenant>/index/<inverted>_<id>       listing entry, value <id>, newest first
//
// <inverted> is MaxInt64 minus the creation time in Unix nanoseconds, as
// the job index has it; the tenant is path-escaped. Every write is one
// transaction: a new version and the head together, conditioned on the
// head's revision.
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

func (s *Etcd) tenant(t string) string { return s.prefix + "/templates/" + url.PathEscape(t) + "/" }
func (s *Etcd) head(t, id string) string {
	return s.tenant(t) + "head/" + id
}
func (s *Etcd) versions(t, id string) string { return s.tenant(t) + "versions/" + id + "/" }
func (s *Etcd) version(t, id string, v int) string {
	return fmt.Sprintf("%s%010d", s.versions(t, id), v)
}
func (s *Etcd) index(t string) string { return s.tenant(t) + "index/" }

// Create implements Store.
func (s *Etcd) Create(ctx context.Context, t *Template) (*Template, error) {
	if err := checkRef(t.Tenant, t.ID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c := t.Clone()
	c.Version = 1
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := jobstore.WithTimeout(ctx)
	defer cancel()
	head := s.head(c.Tenant, c.ID)
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(head), "=", 0)).
		Then(clientv3.OpPut(head, string(data)), clientv3.OpPut(s.version(c.Tenant, c.ID, 1), string(data)),
			clientv3.OpPut(s.index(c.Tenant)+indexSuffix(c.CreatedAt, c.ID), c.ID)).
		Commit()
	if err != nil {
		return nil, jobstore.Classify("create template", err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("%w: template %s exists", ErrInvalid, c.ID)
	}
	c.Revision = resp.Header.Revision
	return c, nil
}

// Get implements Store.
func (s *Etcd) Get(ctx context.Context, tenant, id string, version int) (*Template, error) {
	if err := checkRef(tenant, id); err != nil {
		return nil, err
	}
	key := s.head(tenant, id)
	if version > 0 {
		key = s.version(tenant, id, version)
	}
	ctx, cancel := jobstore.WithTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return nil, jobstore.Classify("get template", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, notFound(id, version)
	}
	return decodeTemplate(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

func decodeTemplate(data []byte, rev int64) (*Template, error) {
	var t Template
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("templates: decode: %w", err)
	}
	t.Revision = rev
	return &t, nil
}

// Update implements Store.
func (s *Etcd) Update(ctx context.Context, tenant, id string, d Definition) (*Template, error) {
	for try := 1; ; try++ {
		cur, err := s.Get(ctx, tenant, id, 0)
		if err != nil {
			return nil, err
		}
		next := cur.Clone()
		next.Definition = d.clone()
		next.Version = cur.Version + 1
		next.UpdatedAt = time.Now().UTC()
		data, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		head := s.head(tenant, id)
		tctx, cancel := jobstore.WithTimeout(ctx)
		resp, err := s.cli.Txn(tctx).
			If(clientv3.Compare(clientv3.ModRevision(head), "=", cur.Revision)).
			Then(clientv3.OpPut(head, string(data)), clientv3.OpPut(s.version(tenant, id, next.Version), string(data))).
			Commit()
		cancel()
		if err != nil {
			return nil, jobstore.Classify("update template", err)
		}
		if resp.Succeeded {
			next.Revision = resp.Header.Revision
			return next, nil
		}
		if try == updateTries {
			return nil, fmt.Errorf("%w: template %s: gave up after %d tries", jobstore.ErrConflict, id, try)
		}
	}
}

// Delete implements Store.
func (s *Etcd) Delete(ctx context.Context, tenant, id string) error {
	cur, err := s.Get(ctx, tenant, id, 0)
	if err != nil {
		return err
	}
	head := s.head(tenant, id)
	ctx, cancel := jobstore.WithTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(head), "=", cur.Revision)).
		Then(clientv3.OpDelete(head), clientv3.OpDelete(s.versions(tenant, id), clientv3.WithPrefix()),
			clientv3.OpDelete(s.index(tenant)+indexSuffix(cur.CreatedAt, id))).
		Commit()
	if err != nil {
		return jobstore.Classify("delete template", err)
	}
	if !resp.Succeeded {
		// A new version came in between: delete that one.
		return s.Delete(ctx, tenant, id)
	}
	return nil
}

// List implements Store.
func (s *Etcd) List(ctx context.Context, tenant string, o ListOptions) ([]*Template, string, error) {
	limit := o.limit()
	prefix := s.index(tenant)
	start := prefix
	if o.Cursor != "" {
		after, err := decodeCursor(o.Cursor)
		if err != nil {
			return nil, "", err
		}
		start = prefix + after + "\x00"
	}
	ctx, cancel := jobstore.WithTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, start, clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithLimit(int64(limit+1)))
	if err != nil {
		return nil, "", jobstore.Classify("list templates", err)
	}
	kvs := resp.Kvs
	next := ""
	if len(kvs) > limit {
		kvs = kvs[:limit]
		next = encodeCursor(string(kvs[limit-1].Key[len(prefix):]))
	}
	if len(kvs) == 0 {
		return nil, "", nil
	}
	ops := make([]clientv3.Op, len(kvs))
	for i, kv := range kvs {
		ops[i] = clientv3.OpGet(s.head(tenant, string(kv.Value)), clientv3.WithRev(resp.Header.Revision))
	}
	tresp, err := s.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return nil, "", jobstore.Classify("list templates", err)
	}
	var out []*Template
	for _, r := range tresp.Responses {
		hk := r.GetResponseRange().GetKvs()
		if len(hk) == 0 {
			continue
		}
		t, err := decodeTemplate(hk[0].Value, hk[0].ModRevision)
		if err != nil {
			return nil, "", err
		}
		out = append(out, t)
	}
	return out, next, nil
}
