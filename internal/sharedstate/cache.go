package sharedstate

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stickerd/stickerd/internal/clock"
)

// MemoryCache is the in-process ResultCache: a map with per-entry expiry,
// bounded by evicting the least recently used entry.
type MemoryCache struct {
	mu         sync.Mutex
	maxEntries int
	order      *list.List // of *cacheEntry, most recently used first
	entries    map[string]*list.Element
	clock      clock.Clock
}

type cacheEntry struct {
	key     string
	jobID   string
	expires time.Time
}

// NewMemoryCache returns a cache of at most maxEntries entries (at least 1).
func NewMemoryCache(maxEntries int) *MemoryCache {
	return &MemoryCache{
		maxEntries: max(maxEntries, 1),
		order:      list.New(),
		entries:    make(map[string]*list.Element),
		clock:      clock.Real{},
	}
}

// Get returns the job stored for key, if it has not expired.
func (c *MemoryCache) Get(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return "", false, nil
	}
	e := el.Value.(*cacheEntry)
	if !c.clock.Now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.entries, key)
		return "", false, nil
	}
	c.order.MoveToFront(el)
	return e.jobID, true, nil
}

// Put stores key → jobID for ttl, replacing any earlier value.
func (c *MemoryCache) Put(ctx context.Context, key, jobID string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := c.clock.Now().Add(ttl)
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		e.jobID, e.expires = jobID, expires
		c.order.MoveToFront(el)
		return nil
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key: key, jobID: jobID, expires: expires})
	for c.order.Len() > c.maxEntries {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
	return nil
}

// Len is the number of entries held, expired ones not yet evicted included.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// RedisCache is the ResultCache over Redis strings with PX expiry.
type RedisCache struct{ redisBase }

// NewRedisCache stores entries under cfg.Prefix+"cache:".
func NewRedisCache(client redis.UniversalClient, cfg Config) *RedisCache {
	return &RedisCache{newRedisBase(client, cfg, "cache:")}
}

// Get returns the job stored for key, if it has not expired.
func (c *RedisCache) Get(ctx context.Context, key string) (string, bool, error) {
	opCtx, cancel := c.op(ctx)
	defer cancel()
	jobID, err := c.client.Get(opCtx, c.prefix+key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, storeError(ctx, "cache get", err)
	}
	return jobID, true, nil
}

// Put stores key → jobID for ttl, replacing any earlier value.
func (c *RedisCache) Put(ctx context.Context, key, jobID string, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	opCtx, cancel := c.op(ctx)
	defer cancel()
	if err := c.client.Set(opCtx, c.prefix+key, jobID, ttl).Err(); err != nil {
		return storeError(ctx, "cache put", err)
	}
	return nil
}
