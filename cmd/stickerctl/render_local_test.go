package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderLocal_Workers: --workers splits a long local render into
// parts rendered side by side, and the summary prints the plan.
func TestRenderLocal_Workers(t *testing.T) {
	if testing.Short() {
		t.Skip("renders video")
	}
	dir := t.TempDir()
	specPath := filepath.Join(dir, "spec.json")
	os.WriteFile(specPath, []byte(`{"source":{"color":"#000000","width":160,"height":120,"duration":25,"fps":10},
		"stickers":[{"type":"text","text":"hi","y":0.8}]}`), 0o644)
	out := filepath.Join(dir, "out.mp4")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"render", "--local", "--workers", "2", specPath, "-o", out}, io.Discard, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "plan: split, 2 encoded segment(s), 25.00 s encoded, 0.00 s copied, 2 worker(s)") ||
		!strings.Contains(stderr.String(), "plan reason: the source is a blank canvas") {
		t.Fatalf("stderr lacks the plan:\n%s", stderr.String())
	}
	var bad bytes.Buffer
	if code := run(context.Background(), []string{"render", "--local", "--workers", "0", specPath, "-o", out}, io.Discard, &bad); code != exitUsage {
		t.Errorf("--workers 0: exit %d, want %d (%s)", code, exitUsage, bad.String())
	}
}
