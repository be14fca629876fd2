package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStore is a remote store in memory: it counts Opens and the objects
// whose body was read (downloads), can hold reads at a gate, and can fail a
// read halfway.
type fakeStore struct {
	mu      sync.Mutex
	objs    map[string]fakeObj
	opens   map[string]int
	reads   map[string]int
	gate    chan struct{} // reads wait for it to close, when not nil
	failing map[string]bool
}

type fakeObj struct {
	data []byte
	etag string
}

func newFakeStore() *fakeStore {
	return &fakeStore{objs: map[string]fakeObj{}, opens: map[string]int{}, reads: map[string]int{}, failing: map[string]bool{}}
}

func (f *fakeStore) set(key, data, etag string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objs[key] = fakeObj{[]byte(data), etag}
}

func (f *fakeStore) counts(key string) (opens, reads int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens[key], f.reads[key]
}

func (f *fakeStore) Stat(_ context.Context, key string) (ObjectInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[key]
	if !ok {
		return ObjectInfo{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return ObjectInfo{Size: int64(len(o.data)), Version: o.etag}, nil
}

func (f *fakeStore) Open(_ context.Context, key string) (Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	f.opens[key]++
	return &fakeReader{Reader: bytes.NewReader(o.data), f: f, key: key, etag: o.etag, gate: f.gate, fail: f.failing[key]}, nil
}

func (f *fakeStore) PutFile(context.Context, string, string) (int64, error) {
	return 0, errors.ErrUnsupported
}
func (f *fakeStore) Put(context.Context, string, io.Reader, int64) (int64, error) {
	return 0, errors.ErrUnsupported
}
func (f *fakeStore) LocalPath(context.Context, string) (string, error) {
	return "", errors.ErrUnsupported
}
func (f *fakeStore) Delete(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objs, key)
	return nil
}

type fakeReader struct {
	*bytes.Reader
	f      *fakeStore
	key    string
	etag   string
	gate   chan struct{}
	fail   bool
	read   bool
	closed bool
}

func (r *fakeReader) Read(p []byte) (int, error) {
	if !r.read {
		r.read = true
		r.f.mu.Lock()
		r.f.reads[r.key]++
		r.f.mu.Unlock()
		if r.gate != nil {
			<-r.gate
		}
	}
	if r.fail && r.Reader.Len() < int(r.Reader.Size())/2+1 {
		return 0, errors.New("connection reset")
	}
	if r.fail && len(p) > 1 {
		p = p[:1] // a byte at a time, so that some bytes arrive before the failure
	}
	return r.Reader.Read(p)
}

func (r *fakeReader) Close() error { r.closed = true; return nil }
func (r *fakeReader) Size() int64  { return r.Reader.Size() }
func (r *fakeReader) ETag() string { return r.etag }

// noStat hides the fake's Stat: Scratch must identify by opening.
type noStat struct{ *fakeStore }

func (noStat) Stat() {}

func newScratch(t *testing.T, store Store, max int64) (*Scratch, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "scratch")
	s, err := NewScratch(store, dir, max)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// dirFiles lists what the scratch folder holds.
func dirFiles(t *testing.T, dir string) (names []string, total int64) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
		total += info.Size()
	}
	return names, total
}

func mustAcquire(t *testing.T, s *Scratch, key, want string) (string, func()) {
	t.Helper()
	p, release, err := s.Acquire(context.Background(), key)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", key, err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != want {
		t.Fatalf("Acquire(%s) = %s holding %q, %v; want %q", key, p, b, err, want)
	}
	return p, release
}

func TestScratch_OneDownloadForConcurrentUsers(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap func(*fakeStore) Store
	}{
		{"store with Stat", func(f *fakeStore) Store { return f }},
		{"store without Stat", func(f *fakeStore) Store { return noStat{f} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const users = 12
			f := newFakeStore()
			f.set("assets/t/a", "the source video", "v1")
			f.gate = make(chan struct{})
			s, _ := newScratch(t, tt.wrap(f), 1<<20)
			var wg sync.WaitGroup
			paths := make([]string, users)
			errs := make([]error, users)
			releases := make([]func(), users)
			for i := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					paths[i], releases[i], errs[i] = s.Acquire(context.Background(), "assets/t/a")
				}()
			}
			// Every user waits on the one download before it may finish.
			waitFor(t, func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				e := s.entries["assets/t/a"]
				return e != nil && e.refs == users
			})
			close(f.gate)
			wg.Wait()
			for i := range users {
				if errs[i] != nil || paths[i] != paths[0] {
					t.Fatalf("user %d: %s, %v; want %s", i, paths[i], errs[i], paths[0])
				}
				releases[i]()
			}
			if b, _ := os.ReadFile(paths[0]); string(b) != "the source video" {
				t.Fatalf("content %q", b)
			}
			opens, reads := f.counts("assets/t/a")
			if reads != 1 {
				t.Fatalf("%d downloads, want 1", reads)
			}
			if _, ok := tt.wrap(f).(Statter); ok && opens != 1 {
				t.Fatalf("%d opens, want 1", opens)
			}
			// A later job finds it cached.
			_, rel := mustAcquire(t, s, "assets/t/a", "the source video")
			rel()
			if _, reads := f.counts("assets/t/a"); reads != 1 {
				t.Fatalf("a cached file was downloaded again (%d downloads)", reads)
			}
		})
	}
}

func TestScratch_LRU(t *testing.T) {
	// Objects of 10 bytes in a cache of 30: the fourth evicts the least
	// recently used unpinned one.
	tests := []struct {
		name    string
		uses    string // keys acquired and released in turn
		cached  string // keys served without downloading afterwards
		evicted string // keys downloaded again afterwards
	}{
		{"oldest goes", "abcd", "bcd", "a"},
		{"a touch keeps a file", "abcad", "acd", "b"},
		{"every touch counts", "abcbad", "abd", "c"},
		{"two over evicts two", "abcde", "cde", "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			for _, k := range "abcde" {
				f.set(string(k), strings.Repeat(string(k), 10), "")
			}
			s, dir := newScratch(t, f, 30)
			for _, k := range tt.uses {
				_, rel := mustAcquire(t, s, string(k), strings.Repeat(string(k), 10))
				rel()
			}
			if n, _ := s.Stats(); n > 30 {
				t.Fatalf("holds %d bytes, over 30", n)
			}
			if _, total := dirFiles(t, dir); total > 30 {
				t.Fatalf("the folder holds %d bytes, over 30", total)
			}
			s.mu.Lock()
			s.max = 1 << 20 // look without evicting further
			s.mu.Unlock()
			before := map[string]int{}
			for _, k := range tt.cached + tt.evicted {
				_, before[string(k)] = f.counts(string(k))
			}
			for _, k := range tt.cached + tt.evicted {
				_, rel := mustAcquire(t, s, string(k), strings.Repeat(string(k), 10))
				rel()
			}
			for _, k := range tt.cached {
				if _, n := f.counts(string(k)); n != before[string(k)] {
					t.Errorf("%c was evicted", k)
				}
			}
			for _, k := range tt.evicted {
				if _, n := f.counts(string(k)); n != before[string(k)]+1 {
					t.Errorf("%c was not evicted", k)
				}
			}
		})
	}
}

func TestScratch_PinnedFilesSurviveEviction(t *testing.T) {
	f := newFakeStore()
	for _, k := range "abcd" {
		f.set(string(k), strings.Repeat(string(k), 10), "")
	}
	s, dir := newScratch(t, f, 20)
	pa, relA := mustAcquire(t, s, "a", "aaaaaaaaaa") // a running render holds a
	for _, k := range "bcd" {
		_, rel := mustAcquire(t, s, string(k), strings.Repeat(string(k), 10))
		rel()
	}
	if b, err := os.ReadFile(pa); err != nil || string(b) != "aaaaaaaaaa" {
		t.Fatalf("the pinned file went: %q, %v", b, err)
	}
	// Pinned beyond the bound: the bound holds again once it is released.
	pb, relB := mustAcquire(t, s, "b", "bbbbbbbbbb")
	pc, relC := mustAcquire(t, s, "c", "cccccccccc")
	for _, p := range []string{pa, pb, pc} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("a pinned file went: %v", err)
		}
	}
	relA()
	relA() // a second release does nothing
	relB()
	relC()
	if n, _ := s.Stats(); n > 20 {
		t.Fatalf("holds %d bytes after the releases, over 20", n)
	}
	if _, total := dirFiles(t, dir); total > 20 {
		t.Fatalf("the folder holds %d bytes after the releases, over 20", total)
	}
	if _, err := os.Stat(pc); err != nil {
		t.Fatal("the most recently used file was evicted")
	}
}

func TestScratch_BoundRespected(t *testing.T) {
	f := newFakeStore()
	rnd := rand.New(rand.NewPCG(1, 2))
	keys := make([]string, 12)
	for i := range keys {
		keys[i] = fmt.Sprintf("assets/t/k%d", i)
		f.set(keys[i], strings.Repeat("x", 1+rnd.IntN(40)), "")
	}
	const max = 100
	s, dir := newScratch(t, f, max)
	var held []func()
	for range 300 {
		k := keys[rnd.IntN(len(keys))]
		_, rel, err := s.Acquire(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, rel)
		if len(held) > 2 || rnd.IntN(2) == 0 {
			held[0]()
			held = held[1:]
		}
		if len(held) == 0 {
			if n, _ := s.Stats(); n > max {
				t.Fatalf("holds %d bytes with nothing pinned, over %d", n, max)
			}
			if _, total := dirFiles(t, dir); total > max {
				t.Fatalf("the folder holds %d bytes with nothing pinned, over %d", total, max)
			}
		}
	}
	for _, rel := range held {
		rel()
	}
	n, _ := s.Stats()
	if _, total := dirFiles(t, dir); n > max || total != n {
		t.Fatalf("counted %d bytes, the folder holds %d, bound %d", n, total, max)
	}
}

func TestScratch_FailedDownloadLeavesNothing(t *testing.T) {
	f := newFakeStore()
	f.set("a", strings.Repeat("v", 100), "")
	f.failing["a"] = true
	s, dir := newScratch(t, f, 1<<20)
	if _, _, err := s.Acquire(context.Background(), "a"); err == nil {
		t.Fatal("a failed download succeeded")
	}
	if names, _ := dirFiles(t, dir); len(names) > 0 {
		t.Fatalf("a failed download left %v", names)
	}
	if n, files := s.Stats(); n != 0 || files != 0 {
		t.Fatalf("a failed download is counted: %d bytes, %d files", n, files)
	}
	f.failing["a"] = false
	_, rel := mustAcquire(t, s, "a", strings.Repeat("v", 100))
	rel()
	if _, reads := f.counts("a"); reads != 2 {
		t.Fatalf("%d downloads, want the failed one and a new one", reads)
	}

	t.Run("canceled", func(t *testing.T) {
		f.set("b", "bbbb", "")
		f.gate = make(chan struct{})
		defer close(f.gate)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			waitFor(t, func() bool { _, r := f.counts("b"); return r == 1 })
			cancel()
		}()
		if _, _, err := s.Acquire(ctx, "b"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		f.gate <- struct{}{} // let the abandoned download see its cancellation (closed by the defer otherwise)
	})
	t.Run("a killed download's temporary file is not taken for a copy", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, scratchTemp+"123"), []byte("half"), 0o644)
		os.WriteFile(filepath.Join(dir, scratchPrefix+"old-1"), []byte("stale"), 0o644)
		os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("not ours"), 0o644)
		if _, err := NewScratch(f, dir, 1<<20); err != nil {
			t.Fatal(err)
		}
		names, _ := dirFiles(t, dir)
		if len(names) != 1 || names[0] != "keep.txt" {
			t.Fatalf("after a restart the folder holds %v, want only keep.txt", names)
		}
	})
}

func TestScratch_ChangedObjectIsFetchedAgain(t *testing.T) {
	tests := []struct {
		name       string
		data, etag string
		refetch    bool
	}{
		{"same", "12345", "v1", false},
		{"size changed", "123456", "v1", true},
		{"etag changed", "54321", "v2", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			f.set("k", "12345", "v1")
			s, dir := newScratch(t, f, 1<<20)
			p1, rel := mustAcquire(t, s, "k", "12345")
			rel()
			f.set("k", tt.data, tt.etag)
			p2, rel := mustAcquire(t, s, "k", tt.data)
			rel()
			_, reads := f.counts("k")
			if want := map[bool]int{false: 1, true: 2}[tt.refetch]; reads != want {
				t.Fatalf("%d downloads, want %d", reads, want)
			}
			if tt.refetch {
				if _, err := os.Stat(p1); !errors.Is(err, os.ErrNotExist) || p1 == p2 {
					t.Fatalf("the old copy %s stays (%v)", p1, err)
				}
			}
			if names, _ := dirFiles(t, dir); len(names) != 1 {
				t.Fatalf("folder holds %v, want one file", names)
			}
		})
	}
	t.Run("a changed object in use stays until released", func(t *testing.T) {
		f := newFakeStore()
		f.set("k", "old", "")
		s, dir := newScratch(t, f, 1<<20)
		p1, rel1 := mustAcquire(t, s, "k", "old")
		f.set("k", "newer", "")
		_, rel2 := mustAcquire(t, s, "k", "newer")
		if b, _ := os.ReadFile(p1); string(b) != "old" {
			t.Fatal("the old copy went while in use")
		}
		rel1()
		rel2()
		if names, total := dirFiles(t, dir); len(names) != 1 || total != 5 {
			t.Fatalf("folder holds %v (%d bytes), want the new copy only", names, total)
		}
	})
}

func TestScratch_NotFound(t *testing.T) {
	f := newFakeStore()
	s, dir := newScratch(t, f, 1<<20)
	if _, _, err := s.Acquire(context.Background(), "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	f.set("k", "data", "")
	_, rel := mustAcquire(t, s, "k", "data")
	rel()
	f.Delete(context.Background(), "k")
	if _, _, err := s.Acquire(context.Background(), "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleted object: err = %v, want ErrNotFound", err)
	}
	if names, _ := dirFiles(t, dir); len(names) != 0 {
		t.Fatalf("a deleted object's copy stays: %v", names)
	}
}

func TestScratch_LocalStoreIsPassedThrough(t *testing.T) {
	d := Dir{Root: t.TempDir()}
	if _, err := d.Put(context.Background(), "assets/t/a", strings.NewReader("x"), 0); err != nil {
		t.Fatal(err)
	}
	scratchDir := filepath.Join(t.TempDir(), "scratch")
	s, err := NewScratch(d, scratchDir, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, rel, err := s.Acquire(context.Background(), "assets/t/a")
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if want, _ := d.LocalPath(context.Background(), "assets/t/a"); p != want {
		t.Fatalf("path %s, want the store's own %s", p, want)
	}
	if _, err := os.Stat(scratchDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a local store made a scratch folder")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
