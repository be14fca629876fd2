package builtin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// pathLocks serialises Path calls for the same file within this process;
// temp+rename keeps other processes safe too.
var pathLocks sync.Map // string -> *sync.Mutex

// Path materialises the sticker's file under dir and returns its path, e.g.
// dir/heart.png. It creates dir (mode 0700) if needed, reuses an existing
// file only when it is a regular file of this user's, writable by no one
// else, with exactly the sticker's bytes, and otherwise writes a temporary
// file and renames it into place (replacing, not following, a symbolic
// link), so readers never see a partial file. It is safe for concurrent
// callers. dir should be private to this user: ffmpeg opens the file by
// name after Path has checked it.
func Path(dir, name string) (string, error) {
	s, err := Lookup(name)
	if err != nil {
		return "", err
	}
	data, err := encoded(name)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, s.Name+"."+s.Format)
	mu, _ := pathLocks.LoadOrStore(p, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	if old, err := readOwned(p, int64(len(data))); err == nil && bytes.Equal(old, data) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("builtin: %w", err)
	}
	if err := writeAtomic(p, data); err != nil {
		return "", fmt.Errorf("builtin: write %s: %w", p, err)
	}
	return p, nil
}

// readOwned reads p, at most limit bytes, if it is a regular file (not a
// symbolic link) that this user owns and nobody else can write.
func readOwned(p string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 || fi.Size() > limit {
		return nil, errors.New("not a file of ours")
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// writeAtomic writes data to a temporary file next to p and renames it to p.
func writeAtomic(p string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
