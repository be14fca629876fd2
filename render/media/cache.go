package media

import "sync"

// Cache is a bounded memory of probe results, safe for concurrent use. A
// nil *Cache caches nothing.
type Cache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]Info
	order   []cacheKey // insertion order, oldest first
}

type cacheKey struct {
	path  string
	size  int64
	mtime int64
}

// NewCache returns a cache of at most max entries.
func NewCache(max int) *Cache {
	return &Cache{max: max, entries: map[cacheKey]Info{}}
}

func (c *Cache) get(k cacheKey) (Info, bool) {
	if c == nil {
		return Info{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	info, ok := c.entries[k]
	return info, ok
}

func (c *Cache) put(k cacheKey, info Info) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; ok {
		return
	}
	for len(c.order) >= c.max {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.entries[k] = info
	c.order = append(c.order, k)
}
