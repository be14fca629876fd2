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

// TestRenderLocal_Snapshot: `stickerctl render --local SPEC -o thumb.png`
// writes the one frame the spec's png or jpg output asks for.
func TestRenderLocal_Snapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a frame")
	}
	dir := t.TempDir()
	tests := []struct{ format, file, magic string }{
		{"png", "thumb.png", "\x89PNG"},
		{"jpg", "thumb.jpg", "\xff\xd8\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			specPath := filepath.Join(dir, tt.format+".json")
			os.WriteFile(specPath, []byte(`{"source":{"color":"#000000","width":160,"height":120,"duration":5,"fps":10},
				"stickers":[{"type":"text","text":"hi","y":0.8}],"output":{"format":"`+tt.format+`","time":2.5}}`), 0o644)
			out := filepath.Join(dir, tt.file)
			var stderr bytes.Buffer
			if code := run(context.Background(), []string{"render", "--local", "-q", specPath, "-o", out}, io.Discard, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			b, err := os.ReadFile(out)
			if err != nil || !strings.HasPrefix(string(b), tt.magic) {
				t.Fatalf("%s: %v, starts %q", out, err, b[:min(len(b), 4)])
			}
			if !strings.Contains(stderr.String(), "wrote "+out+": "+tt.format+" 160x120") ||
				!strings.Contains(stderr.String(), "plan: snapshot") {
				t.Errorf("stderr:\n%s", stderr.String())
			}
		})
	}
}
