package blob

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/stickerd/stickerd/internal/metrics"
)

// DefaultScratchBytes is the bound of a worker's scratch cache when none is
// configured.
const DefaultScratchBytes int64 = 10 << 30

// ObjectInfo is what identifies one version of an object: a cached copy
// is current while the store reports the same size and version.
type ObjectInfo struct {
	Size int64
	// Version is the store's ETag or version id; empty where it has none.
	Version string
}

// Statter is an optional Store method: an object's ObjectInfo without
// reading it. Scratch checks a cached copy with it; a Store without it is
// opened (and closed unread on a hit).
type Statter interface {
	Stat(ctx context.Context, key string) (ObjectInfo, error)
}

// versioned is an optional Object method that names the object's version
// (an S3 ETag or version id).
type versioned interface{ ETag() string }

// Scratch gives local paths to a Store's objects for programs that read
// files (ffmpeg): a remote store's objects are downloaded once into dir
// and kept, by key and object identity (size and ETag), until the files
// total more than max bytes; then the least recently used ones go. A file
// is pinned from Acquire until its release, and a pinned file is never
// evicted. Concurrent Acquires of one key share one download. Downloads
// are written to a temporary name and renamed when complete, so a killed
// download never looks like a cached file.
//
// A local store (Dir) is passed through: its own files are the paths.
// Scratch is safe for concurrent use.
type Scratch struct {
	store Store
	dir   string
	max   int64
	local bool

	mu      sync.Mutex
	entries map[string]*scratchEntry // by key: the current copy
	lru     *list.List               // ready, cached entries, most recent at the front
	total   int64                    // bytes of cached and downloading entries
	seq     uint64                   // names files, so that no two entries share one
}

type scratchEntry struct {
	key     string
	path    string
	info    ObjectInfo
	refs    int
	elem    *list.Element // in lru once ready
	ready   chan struct{} // closed when the download ended
	err     error         // the download's, once ready is closed
	gone    bool          // no longer in entries: its file goes with its last release
	stopped bool          // its download was canceled: nobody waited for it
	counted bool          // its bytes are in Scratch.total
	removed bool          // its file was deleted
	stop    context.CancelFunc
}

// scratchPrefix and scratchTemp name Scratch's files, so that NewScratch
// removes only its own leftovers.
const (
	scratchPrefix = "sc-"
	scratchTemp   = ".sc-tmp-"
)

// NewScratch returns a cache of store's objects in dir, bounded by max
// bytes (DefaultScratchBytes when max <= 0). Files left in dir by an earlier
// Scratch (complete or not) are removed: the index lives in memory. For a
// Dir store, dir is not used.
func NewScratch(store Store, dir string, max int64) (*Scratch, error) {
	if max <= 0 {
		max = DefaultScratchBytes
	}
	s := &Scratch{store: store, dir: dir, max: max, entries: map[string]*scratchEntry{}, lru: list.New()}
	switch store.(type) {
	case Dir, *Dir:
		s.local = true
		return s, nil
	}
	if dir == "" {
		return nil, errors.New("blob: scratch: a folder is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range old {
		if n := e.Name(); strings.HasPrefix(n, scratchPrefix) || strings.HasPrefix(n, scratchTemp) {
			os.Remove(filepath.Join(dir, n))
		}
	}
	return s, nil
}

// LocalPath returns a path to key's content. Unlike Acquire it does not
// pin the file: a later download may evict it. Prefer Acquire.
func (s *Scratch) LocalPath(ctx context.Context, key string) (string, error) {
	p, release, err := s.Acquire(ctx, key)
	if err != nil {
		return "", err
	}
	release()
	return p, nil
}

// Acquire returns a local path holding key's current content, pinned until
// release is called (once; later calls do nothing). ErrNotFound when the
// store holds nothing under key.
func (s *Scratch) Acquire(ctx context.Context, key string) (path string, release func(), err error) {
	if s.local {
		p, err := s.store.LocalPath(ctx, key)
		return p, func() {}, err
	}
	s.mu.Lock()
	if e := s.entries[key]; e != nil && e.elem == nil && !e.done() && !e.stopped {
		// A download is under way: it was identified just now, join it.
		e.refs++
		s.mu.Unlock()
		metrics.ScratchHits.Inc()
		return s.await(ctx, e)
	}
	s.mu.Unlock()

	info, obj, err := s.identify(ctx, key)
	if errors.Is(err, ErrNotFound) {
		s.forget(key) // a cached copy must not outlive its object
	}
	if err != nil {
		return "", nil, err
	}
	s.mu.Lock()
	e := s.entries[key]
	if e != nil && e.info == info && (e.elem != nil || (!e.done() && !e.stopped)) {
		e.refs++
		if e.elem != nil {
			s.lru.MoveToFront(e.elem)
		}
		s.mu.Unlock()
		if obj != nil {
			obj.Close()
		}
		metrics.ScratchHits.Inc()
		return s.await(ctx, e)
	}
	if e != nil {
		s.dropLocked(e) // another version, or a download nobody waited for
	}
	dctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.seq++
	e = &scratchEntry{key: key, path: s.name(key, info, s.seq), info: info, refs: 1, ready: make(chan struct{}),
		stop: stop, counted: true}
	s.entries[key] = e
	s.total += info.Size
	metrics.ScratchBytes.Add(float64(info.Size))
	s.evictLocked()
	s.mu.Unlock()
	metrics.ScratchMisses.Inc()
	go s.download(dctx, e, obj)
	return s.await(ctx, e)
}

func (e *scratchEntry) done() bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// await waits for e's download and returns its path with a release, or
// its error (the reference taken for the caller is then given back).
func (s *Scratch) await(ctx context.Context, e *scratchEntry) (string, func(), error) {
	select {
	case <-e.ready:
	case <-ctx.Done():
		s.release(e)
		return "", nil, ctx.Err()
	}
	if e.err != nil {
		s.release(e)
		return "", nil, e.err
	}
	var once sync.Once
	return e.path, func() { once.Do(func() { s.release(e) }) }, nil
}

func (s *Scratch) release(e *scratchEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.refs--
	if e.refs > 0 {
		return
	}
	if !e.done() {
		e.stop() // nobody waits for it any more
		e.stopped = true
	}
	if e.gone {
		s.removeLocked(e)
		return
	}
	s.evictLocked()
}

// identify returns key's identity: by Stat where the store has it, else by
// opening the object, which is returned open for the download.
func (s *Scratch) identify(ctx context.Context, key string) (ObjectInfo, Object, error) {
	if st, ok := s.store.(Statter); ok {
		info, err := st.Stat(ctx, key)
		return info, nil, err
	}
	obj, err := s.store.Open(ctx, key)
	if err != nil {
		return ObjectInfo{}, nil, err
	}
	info := ObjectInfo{Size: obj.Size()}
	if v, ok := obj.(versioned); ok {
		info.Version = v.ETag()
	}
	return info, obj, nil
}

// download fetches e's object (obj when already open) into a temporary file
// and renames it to e.path once complete and of the expected size.
func (s *Scratch) download(ctx context.Context, e *scratchEntry, obj Object) {
	err := s.fetch(ctx, e, obj)
	s.mu.Lock()
	defer s.mu.Unlock()
	e.err = err
	close(e.ready)
	e.stop()
	if err != nil {
		s.dropLocked(e)
		s.removeLocked(e) // its waiters get the error, not the file
		return
	}
	if e.gone { // replaced by a newer version while downloading
		if e.refs == 0 {
			s.removeLocked(e)
		}
		return
	}
	e.elem = s.lru.PushFront(e)
	s.evictLocked()
}

func (s *Scratch) fetch(ctx context.Context, e *scratchEntry, obj Object) error {
	if obj == nil {
		var err error
		if obj, err = s.store.Open(ctx, e.key); err != nil {
			return err
		}
	}
	defer obj.Close()
	if obj.Size() != e.info.Size {
		return fmt.Errorf("blob: scratch: %s changed while being fetched (%d bytes, then %d)", e.key, e.info.Size, obj.Size())
	}
	tmp, err := os.CreateTemp(s.dir, scratchTemp+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	n, err := io.Copy(tmp, ctxReader{ctx, obj})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blob: scratch: fetching %s: %w", e.key, err)
	}
	if n != e.info.Size {
		return fmt.Errorf("blob: scratch: fetching %s: %d bytes, want %d", e.key, n, e.info.Size)
	}
	return os.Rename(tmp.Name(), e.path)
}

// name is the file of one entry: a hash of its key and version, so that
// keys never escape dir, and a sequence number, so that a new download
// never takes the name of one that is still in use or being removed.
func (s *Scratch) name(key string, info ObjectInfo, seq uint64) string {
	h := sha256.Sum256([]byte(key + "\x00" + strconv.FormatInt(info.Size, 10) + "\x00" + info.Version))
	return filepath.Join(s.dir, scratchPrefix+hex.EncodeToString(h[:16])+"-"+strconv.FormatUint(seq, 10))
}

// forget drops key's copy after the store said it cannot be read (gone, or
// failing): a cached copy must not outlive its object.
func (s *Scratch) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entries[key]; e != nil && e.elem != nil {
		s.dropLocked(e)
	}
}

// dropLocked takes e out of the index; its file goes now or with its last
// release.
func (s *Scratch) dropLocked(e *scratchEntry) {
	if e.gone {
		return
	}
	e.gone = true
	if s.entries[e.key] == e {
		delete(s.entries, e.key)
	}
	if e.elem != nil {
		s.lru.Remove(e.elem)
		e.elem = nil
	}
	if e.refs == 0 {
		s.removeLocked(e)
	}
}

// removeLocked stops counting e's bytes and deletes its file, once each; a
// download still under way deletes its file when it ends (e is gone).
func (s *Scratch) removeLocked(e *scratchEntry) {
	if e.counted {
		e.counted = false
		s.total -= e.info.Size
		metrics.ScratchBytes.Sub(float64(e.info.Size))
	}
	if !e.removed && e.done() && e.err == nil {
		e.removed = true
		os.Remove(e.path)
	}
}

// evictLocked removes least recently used, unpinned files while the total
// is over the bound.
func (s *Scratch) evictLocked() {
	for el := s.lru.Back(); el != nil && s.total > s.max; {
		e := el.Value.(*scratchEntry)
		el = el.Prev()
		if e.refs > 0 {
			continue
		}
		s.dropLocked(e)
		metrics.ScratchEvictions.Inc()
	}
}

// Stats reports the bytes the cache holds (cached and downloading) and how
// many keys it knows.
func (s *Scratch) Stats() (bytes int64, files int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, len(s.entries)
}
