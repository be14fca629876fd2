package assets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultPrefix is the etcd key prefix New uses for an empty prefix; records
// live under <prefix>/assets/<path-escaped tenant>/<id>, and each tenant's
// content index under <prefix>/assets-by-hash/<path-escaped tenant>/<sha256>
// (the id of the asset holding those bytes).
const DefaultPrefix = "/stickerd"

// DefaultRequestTimeout bounds one etcd request, so that an outage answers
// STATE_STORE_UNAVAILABLE instead of hanging.
const DefaultRequestTimeout = 5 * time.Second

// DefaultMaxFontBytes bounds a font upload: fonts are parsed in memory.
const DefaultMaxFontBytes = 64 << 20

// ErrUploadRead wraps an error that came from reading the upload itself (the
// client went away, or an http.MaxBytesReader stopped it), as opposed to a
// storage failure.
var ErrUploadRead = errors.New("assets: reading the upload failed")

// Store keeps tenants' uploaded assets. It is safe for concurrent use.
type Store struct {
	cli    *clientv3.Client
	prefix string
	blobs  blob.Store
	prober media.Prober

	// MaxFontBytes bounds a font file (DefaultMaxFontBytes when 0).
	MaxFontBytes int64
	// RequestTimeout bounds each etcd request (DefaultRequestTimeout
	// when 0).
	RequestTimeout time.Duration
	// Clock stamps CreatedAt (the real clock when nil).
	Clock clock.Clock
}

// New returns a store with records in etcd under prefix (DefaultPrefix when
// empty), bytes in blobs, and uploads probed by prober. The caller keeps
// ownership of cli.
func New(cli *clientv3.Client, prefix string, blobs blob.Store, prober media.Prober) *Store {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{cli: cli, prefix: prefix, blobs: blobs, prober: prober}
}

func (s *Store) key(tenant, id string) string {
	return s.prefix + "/assets/" + url.PathEscape(tenant) + "/" + id
}

// hashKey is the tenant's content index entry for bytes of SHA-256 sum
// (hex): the id of the tenant's asset that holds them. Tenants never share
// an entry, so an upload tells nothing about other tenants' files.
func (s *Store) hashKey(tenant, sum string) string {
	return s.prefix + "/assets-by-hash/" + url.PathEscape(tenant) + "/" + sum
}

// withTimeout bounds one etcd request by RequestTimeout as well as by ctx:
// with a member down the client waits as long as it is allowed to.
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.RequestTimeout
	if d <= 0 {
		d = DefaultRequestTimeout
	}
	return context.WithTimeout(ctx, d)
}

// Put stores an upload for tenant. It streams r into a temporary blob
// (refusing more than limit bytes, or the prober's MaxBytes when limit is
// 0) while hashing it, identifies it — a font by its magic bytes and sfnt,
// anything else with ffprobe — and only then moves the bytes to
// blob.AssetKey and writes the record. Errors: ASSET_TOO_LARGE over a
// limit, ASSET_UNSUPPORTED for content the engine cannot use,
// STATE_STORE_UNAVAILABLE, STORAGE_FAILED, or ErrUploadRead. contentType is
// the client's claim, kept only when the bytes do not say better.
//
// The same bytes uploaded again by the same tenant are stored once: Put
// then returns the tenant's existing asset (see Upload).
func (s *Store) Put(ctx context.Context, tenant, contentType string, r io.Reader, limit int64) (*Asset, error) {
	a, _, err := s.Upload(ctx, tenant, contentType, r, limit)
	return a, err
}

// Upload is Put that also says whether the asset is new. The bytes are
// hashed while they stream into the blob store; when the tenant already
// has an asset with that SHA-256 (the content index), the upload's bytes
// are dropped and that asset is returned with created false. Otherwise the
// record and its index entry are created in one etcd transaction that
// succeeds only while the entry is absent: of concurrent identical
// uploads one wins, and the others delete their bytes and return the
// winner's asset (created false). The index is per tenant: another
// tenant's identical upload is a new asset with its own bytes.
func (s *Store) Upload(ctx context.Context, tenant, contentType string, r io.Reader, limit int64) (a *Asset, created bool, err error) {
	if err := CheckTenant(tenant); err != nil {
		return nil, false, err
	}
	if limit <= 0 {
		limit = s.prober.Limits.MaxBytes
	}
	id := NewID()
	tmp := "uploads/" + id
	defer s.blobs.Delete(context.WithoutCancel(ctx), tmp)
	h := sha256.New()
	src := &readTracker{r: io.TeeReader(r, h)}
	n, err := s.blobs.Put(ctx, tmp, src, limit)
	switch {
	case errors.Is(err, blob.ErrTooLarge):
		return nil, false, errcode.New(errcode.AssetTooLarge, "the upload is over the limit of %d bytes", limit)
	case src.err != nil:
		return nil, false, fmt.Errorf("%w: %w", ErrUploadRead, src.err)
	case err != nil:
		return nil, false, errcode.Wrap(errcode.StorageFailed, err, "storing the upload")
	case n == 0:
		return nil, false, errcode.New(errcode.AssetUnsupported, "the upload is empty")
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if have, err := s.bySum(ctx, tenant, sum); err != nil || have != nil {
		return have, false, err
	}
	path, err := s.blobs.LocalPath(ctx, tmp)
	if err != nil {
		return nil, false, errcode.Wrap(errcode.StorageFailed, err, "reading the upload back")
	}
	a, err = s.identify(ctx, path, n, contentType)
	if err != nil {
		return nil, false, err
	}
	var clk clock.Clock = clock.Real{}
	if s.Clock != nil {
		clk = s.Clock
	}
	a.ID, a.Tenant, a.Bytes, a.SHA256, a.CreatedAt = id, tenant, n, sum, clk.Now().UTC()
	key := blob.AssetKey(tenant, id)
	if _, err := s.blobs.PutFile(ctx, key, path); err != nil {
		return nil, false, errcode.Wrap(errcode.StorageFailed, err, "storing the upload")
	}
	winner, err := s.create(ctx, a)
	if err != nil || winner != nil {
		s.blobs.Delete(context.WithoutCancel(ctx), key)
		return winner, false, err
	}
	return a, true, nil
}

// bySum returns tenant's asset holding bytes of SHA-256 sum, or nil.
func (s *Store) bySum(ctx context.Context, tenant, sum string) (*Asset, error) {
	rctx, cancel := s.withTimeout(ctx)
	resp, err := s.cli.Get(rctx, s.hashKey(tenant, sum))
	cancel()
	if err != nil {
		return nil, storeErr("get content index", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	a, err := s.Get(ctx, tenant, string(resp.Kvs[0].Value))
	if errors.Is(err, ErrNotFound) {
		return nil, nil // an entry without its asset: create replaces it
	}
	return a, err
}

// create writes a's record and its content index entry in one transaction,
// if the tenant has no asset with the same bytes. Otherwise it writes
// nothing and returns that asset.
func (s *Store) create(ctx context.Context, a *Asset) (*Asset, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "encoding the asset record")
	}
	hk := s.hashKey(a.Tenant, a.SHA256)
	free := clientv3.Compare(clientv3.CreateRevision(hk), "=", 0)
	for try := 0; try < 4; try++ {
		rctx, cancel := s.withTimeout(ctx)
		resp, err := s.cli.Txn(rctx).If(free).
			Then(clientv3.OpPut(s.key(a.Tenant, a.ID), string(data)), clientv3.OpPut(hk, a.ID)).
			Else(clientv3.OpGet(hk)).Commit()
		cancel()
		if err != nil {
			return nil, storeErr("put "+a.ID, err)
		}
		if resp.Succeeded {
			return nil, nil
		}
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			free = clientv3.Compare(clientv3.CreateRevision(hk), "=", 0) // deleted meanwhile
			continue
		}
		have, err := s.Get(ctx, a.Tenant, string(kvs[0].Value))
		if !errors.Is(err, ErrNotFound) {
			return have, err
		}
		// An entry whose asset is gone: take it over, unless it changes.
		free = clientv3.Compare(clientv3.ModRevision(hk), "=", kvs[0].ModRevision)
	}
	return nil, errcode.New(errcode.StateStoreUnavailable, "the content index of asset %s keeps changing; try again", a.ID)
}

// Get returns tenant's asset id. Another tenant's asset, like a missing
// one, is ErrNotFound.
func (s *Store) Get(ctx context.Context, tenant, id string) (*Asset, error) {
	if CheckTenant(tenant) != nil || !ValidID(id) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.key(tenant, id))
	if err != nil {
		return nil, storeErr("get "+id, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	var a Asset
	if err := json.Unmarshal(resp.Kvs[0].Value, &a); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "decoding asset %s", id)
	}
	return &a, nil
}

// Hash returns the SHA-256 (hex) of tenant's asset id, which the result
// cache keys on: the same spec over other bytes is another render.
func (s *Store) Hash(ctx context.Context, tenant, id string) (string, error) {
	a, err := s.Get(ctx, tenant, id)
	if err != nil {
		return "", err
	}
	return a.SHA256, nil
}

// readTracker remembers an error of the upload's reader, which blob.Put
// does not tell apart from a write error.
type readTracker struct {
	r   io.Reader
	err error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.err = err
	}
	return n, err
}
