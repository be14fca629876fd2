package assets

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/media/hostiletest"
	"github.com/stickerd/stickerd/services/assets/assetstest"
)

// An uploaded playlist, manifest or script is refused without reading
// what it names, and the answer is the same whether that exists or not.
func TestStore_PutRefusesIndirection(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	canary := hostiletest.New(t)
	missing := &hostiletest.Canary{Path: filepath.Join(t.TempDir(), "no-such-file.ts"), URL: "http://127.0.0.1:9/none.ts"}
	gone := map[string]string{}
	for _, f := range hostiletest.Files(missing) {
		gone[f.Name] = string(f.Data)
	}
	for _, f := range hostiletest.Files(canary) {
		t.Run(f.Name, func(t *testing.T) {
			_, err := s.Put(ctx, "acme", "video/mp4", bytes.NewReader(f.Data), 0)
			if errcode.Of(err) != errcode.AssetUnsupported {
				t.Errorf("got %v, want ASSET_UNSUPPORTED", err)
			}
			canary.AssertUntouched(t)
			_, err2 := s.Put(ctx, "acme", "video/mp4", strings.NewReader(gone[f.Name]), 0)
			if errcode.Of(err2) != errcode.Of(err) || msg(err2) != msg(err) {
				t.Errorf("a missing target answers %v, an existing one %v: uploads reveal which files exist", err2, err)
			}
		})
	}
}

func msg(err error) string {
	if e, ok := err.(*errcode.Error); ok {
		return e.Message
	}
	return ""
}

// FuzzIdentify feeds upload identification hostile containers: it never
// panics, accepts only the allowed container families, and never opens
// the canary that the seeds point at.
func FuzzIdentify(f *testing.F) {
	canary := hostiletest.New(f)
	for _, h := range hostiletest.Files(canary) {
		f.Add(h.Data)
	}
	f.Add(assetstest.MP4(f))
	f.Add(assetstest.PNG(f, 4, 4))
	f.Add(assetstest.GIF(f))
	f.Add([]byte{})
	dir := f.TempDir()
	s := &Store{prober: media.Prober{FFprobe: "ffprobe", Limits: media.DefaultLimits()}}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "upload")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := s.identify(context.Background(), path, int64(len(data)), "video/mp4")
		canary.AssertUntouched(t)
		if err != nil {
			if c := errcode.Of(err); c == errcode.Internal {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		head := data[:min(len(data), 512)]
		if c, _ := media.Sniff(head); c == media.ContainerUnknown && a.Kind != KindFont {
			t.Fatalf("accepted %q as %+v", head[:min(len(head), 32)], a)
		}
	})
}
