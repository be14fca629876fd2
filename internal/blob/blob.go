package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned for a key that holds nothing.
var ErrNotFound = errors.New("blob: not found")

// ErrBadKey is returned for a key that could escape the store.
var ErrBadKey = errors.New("blob: invalid key")

// Object is a stored blob opened for reading, seekable for HTTP ranges.
type Object interface {
	io.ReadSeekCloser
	Size() int64
}

// Store is a blob store.
type Store interface {
	// PutFile moves (or copies) the file at src under key, atomically:
	// readers see the whole object or none.
	PutFile(ctx context.Context, key, src string) (int64, error)
	// Put stores r under key, atomically, refusing more than limit bytes (0 = no limit).
	Put(ctx context.Context, key string, r io.Reader, limit int64) (int64, error)
	Open(ctx context.Context, key string) (Object, error)
	// LocalPath returns a path ffmpeg can read the object from.
	LocalPath(ctx context.Context, key string) (string, error)
	Delete(ctx context.Context, key string) error
}

// Dir is a Store in a local folder.
type Dir struct{ Root string }

var _ Store = Dir{}

func (d Dir) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// checkKey refuses a key that could escape a store or name a hidden
// (temporary) file: every store checks keys the same way.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.ContainsRune(key, 0) {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return fmt.Errorf("%w: %q", ErrBadKey, key)
		}
	}
	return nil
}

// PutFile implements Store: a rename within the same file system, a copy otherwise.
func (d Dir) PutFile(ctx context.Context, key, src string) (int64, error) {
	dst, err := d.path(key)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	if err := os.Rename(src, dst); err == nil {
		st, err := os.Stat(dst)
		if err != nil {
			return 0, err
		}
		return st.Size(), nil
	}
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := d.Put(ctx, key, f, 0)
	if err == nil {
		os.Remove(src)
	}
	return n, err
}

// ErrTooLarge is returned by Put when the data exceeds its limit.
var ErrTooLarge = errors.New("blob: over the size limit")

// Put implements Store.
func (d Dir) Put(ctx context.Context, key string, r io.Reader, limit int64) (int64, error) {
	dst, err := d.path(key)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".put-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	n, err := io.Copy(tmp, ctxReader{ctx, src})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if limit > 0 && n > limit {
		return 0, ErrTooLarge
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return 0, err
	}
	return n, nil
}

// Open implements Store.
func (d Dir) Open(_ context.Context, key string) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return file{f, st.Size()}, nil
}

// LocalPath implements Store.
func (d Dir) LocalPath(_ context.Context, key string) (string, error) {
	p, err := d.path(key)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return p, nil
}

// Delete implements Store.
func (d Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

type file struct {
	*os.File
	size int64
}

func (f file) Size() int64 { return f.size }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
