package builtin

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// pathLocks serialises Path calls for the same file within this process;
// temp+rename keeps other processes safe too.
var pathLocks sync.Map // string -> *sync.Mutex

// Path materialises the sticker's file under dir and returns its path, e.g.
// dir/heart.png. It creates dir if needed, reuses an existing file whose
// contents are already right and otherwise writes a temporary file and
// renames it into place, so readers never see a partial file. It is safe for
// concurrent callers.
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

	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("builtin: %w", err)
	}
	if err := writeAtomic(p, data); err != nil {
		return "", fmt.Errorf("builtin: write %s: %w", p, err)
	}
	return p, nil
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
