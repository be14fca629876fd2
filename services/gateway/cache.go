package gateway

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/services/gateway/resultcache"
)

// maxRecorded bounds the memory of jobs already written to the cache.
const maxRecorded = 10000

// CacheKey is the result-cache key of sp for tenant (resultcache.Key over
// the gateway's asset store); ok is false for a spec that is not cacheable.
func (g *Gateway) CacheKey(ctx context.Context, tenant string, sp *spec.Spec) (key string, ok bool, err error) {
	return resultcache.Key(ctx, g.deps.Assets, tenant, sp)
}

// rememberResult is resultcache.Remember once per job and process; a failure is
// logged and tried again on the next sighting.
func (g *Gateway) rememberResult(ctx context.Context, j *jobs.Job) {
	if g.deps.Cache == nil || j.Status != jobs.Succeeded {
		return
	}
	g.recordedMu.Lock()
	_, done := g.recorded[string(j.ID)]
	if !done {
		if len(g.recorded) >= maxRecorded {
			clear(g.recorded)
		}
		g.recorded[string(j.ID)] = struct{}{}
	}
	g.recordedMu.Unlock()
	if done {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.StoreTimeout)
	defer cancel()
	if err := resultcache.Remember(ctx, g.deps.Cache, g.deps.Assets, j, g.cfg.ResultCacheTTL); err != nil {
		g.recordedMu.Lock()
		delete(g.recorded, string(j.ID))
		g.recordedMu.Unlock()
		g.met.failOpen.WithLabelValues("cache").Inc()
		g.log.Warn("could not write the result cache", "job", j.ID, "err", err)
	}
}

// cachedResult returns the finished job that rendered an identical request,
// or nil. A hit counts only while the job succeeded, is the tenant's and
// its output is still stored; a cache failure is a miss.
func (g *Gateway) cachedResult(c *gin.Context, tenant, key string) *jobs.Job {
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	id, ok, err := g.deps.Cache.Get(ctx, key)
	if err != nil {
		g.failOpen(c, "cache", err)
		return nil
	}
	if !ok || !strings.HasPrefix(id, "job_") {
		g.met.cache.WithLabelValues("miss").Inc()
		return nil
	}
	j, err := g.deps.Jobs.Get(ctx, jobs.ID(id))
	if err != nil || !j.OwnedBy(tenant) || j.Status != jobs.Succeeded || j.Output == nil || j.Output.Key == "" || j.OutputDeletedAt != nil {
		g.met.cache.WithLabelValues("miss").Inc()
		return nil
	}
	obj, err := g.deps.Blobs.Open(ctx, j.Output.Key)
	if err != nil {
		g.met.cache.WithLabelValues("miss").Inc()
		return nil
	}
	obj.Close()
	g.met.cache.WithLabelValues("hit").Inc()
	return j
}
