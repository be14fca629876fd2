package blob

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	ctx := context.Background()
	d := Dir{Root: t.TempDir()}
	n, err := d.Put(ctx, "outputs/t1/job_a.mp4", strings.NewReader("hello"), 0)
	if err != nil || n != 5 {
		t.Fatal(n, err)
	}
	o, err := d.Open(ctx, "outputs/t1/job_a.mp4")
	if err != nil || o.Size() != 5 {
		t.Fatal(err)
	}
	o.Seek(1, io.SeekStart)
	b, _ := io.ReadAll(o)
	o.Close()
	if string(b) != "ello" {
		t.Fatal(string(b))
	}
	src := filepath.Join(t.TempDir(), "x")
	os.WriteFile(src, []byte("abc"), 0o644)
	if n, err := d.PutFile(ctx, "a/b", src); err != nil || n != 3 {
		t.Fatal(n, err)
	}
	if _, err := d.Put(ctx, "big", strings.NewReader("123456"), 5); !errors.Is(err, ErrTooLarge) {
		t.Fatal("limit not enforced", err)
	}
	if _, err := d.Open(ctx, "big"); !errors.Is(err, ErrNotFound) {
		t.Fatal("an over-limit put left an object")
	}
	if err := d.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.LocalPath(ctx, "a/b"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestDir_RejectsEscapingKeys(t *testing.T) {
	d := Dir{Root: t.TempDir()}
	for _, k := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", ".hidden", "a/.", "a\\b", "a\x00b"} {
		t.Run(k, func(t *testing.T) {
			if _, err := d.Put(context.Background(), k, strings.NewReader("x"), 0); !errors.Is(err, ErrBadKey) {
				t.Fatalf("key %q accepted: %v", k, err)
			}
		})
	}
}
