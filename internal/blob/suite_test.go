package blob_test

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

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/blob/s3test"
)

// storeCase is one behaviour every Store must have.
type storeCase struct {
	name string
	run  func(t *testing.T, s blob.Store)
}

// storeSuite is the one table of behaviours that runs against Dir and S3
// alike.
var storeSuite = []storeCase{
	{"put, open, seek", testPutOpenSeek},
	{"multipart put", testMultipartPut},
	{"over the limit leaves nothing", testLimit},
	{"put file", testPutFile},
	{"local path", testLocalPath},
	{"delete is idempotent", testDelete},
	{"not found", testNotFound},
	{"bad keys", testBadKeys},
	{"concurrent puts of one key", testConcurrentPuts},
	{"canceled put leaves nothing", testCanceledPut},
	{"failing reader leaves nothing", testFailingReader},
}

func runSuite(t *testing.T, open func(t *testing.T) blob.Store) {
	for _, c := range storeSuite {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
	}
}

func TestStoreSuite_Dir(t *testing.T) {
	runSuite(t, func(t *testing.T) blob.Store { return blob.Dir{Root: t.TempDir()} })
}

func TestStoreSuite_S3(t *testing.T) {
	srv := s3test.Start(t)
	n := 0
	runSuite(t, func(t *testing.T) blob.Store {
		n++ // each case under its own prefix of the one bucket
		return srv.Store(fmt.Sprintf("case%d", n))
	})
}

// TestStoreSuite_S3NoPrefix: keys at the bucket's root.
func TestStoreSuite_S3NoPrefix(t *testing.T) {
	srv := s3test.Start(t)
	s := srv.Store("")
	ctx := context.Background()
	if _, err := s.Put(ctx, "outputs/t/j.mp4", strings.NewReader("x"), 0); err != nil {
		t.Fatal(err)
	}
	if got := srv.Keys(t); len(got) != 1 || got[0] != "outputs/t/j.mp4" {
		t.Fatalf("bucket holds %v", got)
	}
}

func readAll(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	o, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != o.Size() {
		t.Fatalf("read %d bytes, Size says %d", len(b), o.Size())
	}
	return b
}

func mustMissing(t *testing.T, s blob.Store, key string) {
	t.Helper()
	if o, err := s.Open(context.Background(), key); !errors.Is(err, blob.ErrNotFound) {
		if err == nil {
			o.Close()
		}
		t.Fatalf("open %s: %v, want ErrNotFound", key, err)
	}
}

func random(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

func testPutOpenSeek(t *testing.T, s blob.Store) {
	ctx := context.Background()
	n, err := s.Put(ctx, "outputs/t1/job_a.mp4", strings.NewReader("hello world"), 0)
	if err != nil || n != 11 {
		t.Fatal(n, err)
	}
	if got := readAll(t, s, "outputs/t1/job_a.mp4"); string(got) != "hello world" {
		t.Fatalf("%q", got)
	}
	o, err := s.Open(ctx, "outputs/t1/job_a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != 11 {
		t.Fatal(o.Size())
	}
	if end, err := o.Seek(0, io.SeekEnd); err != nil || end != 11 {
		t.Fatal("seek end", end, err)
	}
	if _, err := o.Seek(6, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 3)
	if _, err := io.ReadFull(o, b); err != nil || string(b) != "wor" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := o.Seek(-4, io.SeekCurrent); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(o)
	if string(rest) != " world" {
		t.Fatalf("%q", rest)
	}
	// Overwriting replaces.
	if _, err := s.Put(ctx, "outputs/t1/job_a.mp4", strings.NewReader("bye"), 0); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, "outputs/t1/job_a.mp4"); string(got) != "bye" {
		t.Fatalf("%q", got)
	}
}

// testMultipartPut stores more than one S3 part (16 MiB) from a stream of
// unknown length.
func testMultipartPut(t *testing.T, s blob.Store) {
	data := random(int(blob.DefaultPartSize)*2+12345, 1)
	n, err := s.Put(context.Background(), "big/object", io.MultiReader(bytes.NewReader(data)), int64(len(data)))
	if err != nil || n != int64(len(data)) {
		t.Fatal(n, err)
	}
	if got := readAll(t, s, "big/object"); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	o, err := s.Open(context.Background(), "big/object")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	off := int64(blob.DefaultPartSize) - 3
	if _, err := o.Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 10)
	if _, err := io.ReadFull(o, b); err != nil || !bytes.Equal(b, data[off:off+10]) {
		t.Fatal("range across a part boundary differs", err)
	}
}

func testLimit(t *testing.T, s blob.Store) {
	ctx := context.Background()
	if _, err := s.Put(ctx, "big", strings.NewReader("123456"), 5); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatal("limit not enforced", err)
	}
	mustMissing(t, s, "big")
	if n, err := s.Put(ctx, "exact", strings.NewReader("12345"), 5); err != nil || n != 5 {
		t.Fatal("a put of exactly the limit refused", n, err)
	}
	// Over the limit after several parts: the multipart upload is aborted.
	data := random(int(blob.DefaultPartSize)*2+10, 2)
	if _, err := s.Put(ctx, "big2", bytes.NewReader(data), int64(len(data))-1); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatal("limit not enforced on a multipart put", err)
	}
	mustMissing(t, s, "big2")
	// An existing object is not replaced by a refused put.
	if _, err := s.Put(ctx, "exact", strings.NewReader("123456"), 5); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatal(err)
	}
	if got := readAll(t, s, "exact"); string(got) != "12345" {
		t.Fatalf("a refused put changed the object: %q", got)
	}
}

func testPutFile(t *testing.T, s blob.Store) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "x")
	os.WriteFile(src, []byte("abc"), 0o644)
	if n, err := s.PutFile(ctx, "a/b", src); err != nil || n != 3 {
		t.Fatal(n, err)
	}
	if got := readAll(t, s, "a/b"); string(got) != "abc" {
		t.Fatalf("%q", got)
	}
	if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("PutFile left its source behind", err)
	}
	if _, err := s.PutFile(ctx, "a/c", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("PutFile of a missing file succeeded")
	}
	mustMissing(t, s, "a/c")
}

func testLocalPath(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := random(100000, 3)
	if _, err := s.Put(ctx, "assets/t/a1", bytes.NewReader(data), 0); err != nil {
		t.Fatal(err)
	}
	p, err := s.LocalPath(ctx, "assets/t/a1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatal("local copy differs", err)
	}
	// A new version under the same key is seen.
	if _, err := s.Put(ctx, "assets/t/a1", strings.NewReader("v2"), 0); err != nil {
		t.Fatal(err)
	}
	p, err = s.LocalPath(ctx, "assets/t/a1")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "v2" {
		t.Fatalf("stale local copy %q", got)
	}
	if _, err := s.LocalPath(ctx, "assets/t/none"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	if _, err := s.Put(ctx, "a/b", strings.NewReader("x"), 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := s.Delete(ctx, "a/b"); err != nil {
			t.Fatalf("delete #%d: %v", i+1, err)
		}
	}
	mustMissing(t, s, "a/b")
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Fatal(err)
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	mustMissing(t, s, "nothing/here")
	if _, err := s.LocalPath(context.Background(), "nothing/here"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
}

func testBadKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, k := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", ".hidden", "a/.", "a\\b", "a\x00b"} {
		if _, err := s.Put(ctx, k, strings.NewReader("x"), 0); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Put %q: %v", k, err)
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Open %q: %v", k, err)
		}
		if _, err := s.LocalPath(ctx, k); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("LocalPath %q: %v", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Delete %q: %v", k, err)
		}
	}
}

// testConcurrentPuts: writers race on one key; the object is always one
// writer's whole content, never a mix.
func testConcurrentPuts(t *testing.T, s blob.Store) {
	ctx := context.Background()
	const writers = 4
	size := int(blob.DefaultPartSize) + 1000 // multipart on S3
	contents := make([][]byte, writers)
	for i := range contents {
		contents[i] = bytes.Repeat([]byte{byte('a' + i)}, size)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Put(ctx, "race/key", bytes.NewReader(contents[i]), 0)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, s, "race/key")
	for _, c := range contents {
		if bytes.Equal(got, c) {
			return
		}
	}
	t.Fatalf("torn object: %d bytes, starts %q", len(got), got[:min(8, len(got))])
}

// slowReader yields size bytes, then blocks until its context ends.
type slowReader struct {
	ctx  context.Context
	left int
	sent chan struct{}
	once sync.Once
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		r.once.Do(func() { close(r.sent) })
		<-r.ctx.Done()
		return 0, r.ctx.Err()
	}
	n := min(len(p), r.left)
	for i := range p[:n] {
		p[i] = 'z'
	}
	r.left -= n
	return n, nil
}

func testCanceledPut(t *testing.T, s blob.Store) {
	for _, size := range []int{1000, int(blob.DefaultPartSize) + 1000} {
		ctx, cancel := context.WithCancel(context.Background())
		r := &slowReader{ctx: ctx, left: size, sent: make(chan struct{})}
		done := make(chan error, 1)
		go func() { _, err := s.Put(ctx, "cancel/me", r, 0); done <- err }()
		select {
		case <-r.sent:
		case err := <-done:
			t.Fatal("put ended early", err)
		}
		cancel()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("a canceled put succeeded")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a canceled put did not return")
		}
		mustMissing(t, s, "cancel/me")
	}
}

type failingReader struct{ left int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, errors.New("client went away")
	}
	n := min(len(p), r.left)
	r.left -= n
	return n, nil
}

func testFailingReader(t *testing.T, s blob.Store) {
	_, err := s.Put(context.Background(), "fail/me", &failingReader{left: int(blob.DefaultPartSize) + 5}, 0)
	if err == nil || !strings.Contains(err.Error(), "client went away") {
		t.Fatal(err)
	}
	mustMissing(t, s, "fail/me")
}

// TestS3_Unavailable: a store that cannot be reached fails with
// ErrUnavailable (the gateway's 503, a worker's retried STORAGE_FAILED),
// and works again once it is back.
func TestS3_Unavailable(t *testing.T) {
	srv := s3test.Start(t)
	s := srv.Store("p")
	ctx := context.Background()
	if _, err := s.Put(ctx, "a", strings.NewReader("x"), 0); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.Put(ctx, "b", strings.NewReader("x"), 0); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("put: %v, want ErrUnavailable", err)
	}
	if _, err := s.Put(ctx, "b", bytes.NewReader(random(int(blob.DefaultPartSize)+1, 4)), 0); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("multipart put: %v, want ErrUnavailable", err)
	}
	if _, err := s.Open(ctx, "a"); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("open: %v, want ErrUnavailable", err)
	}
	if _, err := s.LocalPath(ctx, "a"); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("local path: %v, want ErrUnavailable", err)
	}
	if err := s.Delete(ctx, "a"); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("delete: %v, want ErrUnavailable", err)
	}
	srv.Restart()
	if got := readAll(t, s, "a"); string(got) != "x" {
		t.Fatalf("%q", got)
	}
	if _, err := s.Put(ctx, "b", strings.NewReader("y"), 0); err != nil {
		t.Fatal(err)
	}
}

// TestS3_MissingBucket: a bucket that does not exist is an unavailable
// store (a deployment mistake the operator fixes), not a missing object.
func TestS3_MissingBucket(t *testing.T) {
	srv := s3test.Start(t)
	c := srv.Config("")
	c.URL = "s3://no-such-bucket"
	s, err := blob.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "a", strings.NewReader("x"), 0); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("put: %v", err)
	}
	if err := s.(*blob.S3).Ping(context.Background()); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("ping: %v", err)
	}
}

func TestConfig(t *testing.T) {
	good := []blob.Config{
		blob.DefaultConfig("/data"),
		{URL: "file:///abs/dir"},
		{URL: "s3://bucket"},
		{URL: "s3://bucket/some/prefix", S3Endpoint: "http://127.0.0.1:9000", S3PathStyle: true},
		{URL: "s3://bucket", S3Endpoint: "minio.internal:9000"},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []blob.Config{
		{},
		{URL: "/abs/dir"},
		{URL: "file://relative/dir"},
		{URL: "http://bucket"},
		{URL: "s3://"},
		{URL: "s3://bucket/../x"},
		{URL: "s3://bucket/.hidden"},
		{URL: "s3://bucket", S3Endpoint: "ftp://host"},
		{URL: "s3://bucket", S3Endpoint: "http://host/path"},
		{URL: "s3://bucket", PartSize: 1 << 20},
		{URL: "s3://bucket", S3AccessKey: "only-half"},
	}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, blob.ErrInvalidConfig) {
			t.Errorf("%+v accepted: %v", c, err)
		}
	}
	if s, err := blob.Open(context.Background(), blob.Config{URL: blob.FileURL("/tmp/x y")}); err != nil || s.(blob.Dir).Root != "/tmp/x y" {
		t.Fatal(s, err)
	}
}
