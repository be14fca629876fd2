package reference

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stickerd/stickerd/render/spec"
)

// The inputs are written where Spec names them, and Spec parses.
func TestWriteInputs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	files, err := WriteInputs(ctx, "ffmpeg", dir, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	for role, name := range map[string]string{"source": "source.mp4", "heart": "heart.png", "confetti": "confetti.gif"} {
		if files[role] != filepath.Join(dir, name) {
			t.Errorf("%s at %q, want %s", role, files[role], name)
		}
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := spec.Parse([]byte(Spec), spec.ParseOptions{AllowPaths: true}); err != nil {
		t.Fatalf("Spec: %v", err)
	}
}
