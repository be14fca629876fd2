package resultcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/render/spec"
)

// Role is how a spec uses an asset.
type Role int

// The roles of an uploaded asset in a spec.
const (
	RoleSource  Role = iota // source.asset_id: a video
	RoleSticker             // stickers[i].asset_id: an image
	RoleFont                // stickers[i].font: a font
)

// AssetRef is one uploaded asset a spec names.
type AssetRef struct {
	Field string // JSON path, e.g. stickers[2].font
	ID    string
	Role  Role
}

// AssetRefs lists the uploaded assets sp names, in spec order.
func AssetRefs(sp *spec.Spec) []AssetRef {
	var refs []AssetRef
	if sp.Source.AssetID != "" {
		refs = append(refs, AssetRef{"source.asset_id", sp.Source.AssetID, RoleSource})
	}
	for i, st := range sp.Stickers {
		p := fmt.Sprintf("stickers[%d]", i)
		if st.AssetID != "" {
			refs = append(refs, AssetRef{p + ".asset_id", st.AssetID, RoleSticker})
		}
		if strings.HasPrefix(st.Font, "ast_") {
			refs = append(refs, AssetRef{p + ".font", st.Font, RoleFont})
		}
	}
	return refs
}

// Hasher gives the SHA-256 of a tenant's asset (*assets.Store).
type Hasher interface {
	Hash(ctx context.Context, tenant, id string) (string, error)
}

// Key is the cache key of a render request: a hex SHA-256 over the tenant,
// the normalised spec (json.Marshal of the parsed *spec.Spec, the form
// submit stores as Job.Spec) and the content hash of every uploaded asset
// it names, so that the same spec over re-uploaded bytes misses. Built-in
// stickers count by name. A spec that fetches a URL is not cacheable (ok
// false): what is behind a URL may change.
func Key(ctx context.Context, h Hasher, tenant string, sp *spec.Spec) (key string, ok bool, err error) {
	return KeyWith(tenant, sp, func(id string) (string, error) { return h.Hash(ctx, tenant, id) })
}

// KeyWith is Key with the asset hashes from hash (for a caller that has
// already read the assets).
func KeyWith(tenant string, sp *spec.Spec, hash func(assetID string) (string, error)) (string, bool, error) {
	if sp.Source.URL != "" || sp.Source.Path != "" {
		return "", false, nil
	}
	for _, st := range sp.Stickers {
		if st.URL != "" || st.Path != "" {
			return "", false, nil
		}
	}
	norm, err := json.Marshal(sp)
	if err != nil {
		return "", false, err
	}
	sum := sha256.New()
	fmt.Fprintf(sum, "stickerd result v1\x00%s\x00%s", tenant, norm)
	seen := map[string]bool{}
	for _, r := range AssetRefs(sp) {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		h, err := hash(r.ID)
		if err != nil {
			return "", false, fmt.Errorf("resultcache: hashing asset %s: %w", r.ID, err)
		}
		fmt.Fprintf(sum, "\x00%s=%s", r.ID, h)
	}
	return hex.EncodeToString(sum.Sum(nil)), true, nil
}

// Putter writes cache entries (the gateway's ResultCache has this method).
type Putter interface {
	Put(ctx context.Context, key, jobID string, ttl time.Duration) error
}

// Remember writes the cache entry of a job that succeeded, keyed by the
// request it was made from (Job.Spec), for ttl. Writing an entry twice is
// harmless. Other jobs, and specs that are not cacheable, are ignored.
func Remember(ctx context.Context, cache Putter, h Hasher, j *jobs.Job, ttl time.Duration) error {
	if cache == nil || j.Status != jobs.Succeeded || j.Output == nil || len(j.Spec) == 0 {
		return nil
	}
	var sp spec.Spec
	if err := json.Unmarshal(j.Spec, &sp); err != nil {
		return fmt.Errorf("resultcache: the spec of %s: %w", j.ID, err)
	}
	key, ok, err := Key(ctx, h, j.Tenant, &sp)
	if err != nil || !ok {
		return err
	}
	return cache.Put(ctx, key, string(j.ID), ttl)
}
