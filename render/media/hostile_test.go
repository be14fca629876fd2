package media_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/media/hostiletest"
)

// Playlists, manifests and scripts name other files; ffprobe must refuse
// them before it opens anything they name.
func TestProbe_RefusesIndirection(t *testing.T) {
	canary := hostiletest.New(t)
	dir := t.TempDir()
	p := media.Prober{FFprobe: "ffprobe", Limits: media.DefaultLimits()}
	for _, f := range hostiletest.Files(canary) {
		t.Run(f.Name, func(t *testing.T) {
			path := filepath.Join(dir, f.Name+f.Ext)
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			info, err := p.Probe(context.Background(), path, errcode.SourceUnreadable)
			if err == nil {
				t.Errorf("accepted as %+v", info)
			} else if c := errcode.Of(err); c != errcode.AssetUnsupported && c != errcode.SourceUnreadable {
				t.Errorf("code %s (%v), want ASSET_UNSUPPORTED or SOURCE_UNREADABLE", c, err)
			}
			canary.AssertUntouched(t)
		})
	}
}

// The canary itself is an allowed container: the watcher must see a read.
func TestCanary_SeesARead(t *testing.T) {
	canary := hostiletest.New(t)
	p := media.Prober{FFprobe: "ffprobe", Limits: media.DefaultLimits()}
	if _, err := p.Probe(context.Background(), canary.Path, errcode.SourceUnreadable); err != nil {
		t.Fatal(err)
	}
	ft := &fakeT{}
	canary.AssertUntouched(ft)
	if !ft.failed {
		t.Fatal("probing the canary itself was not noticed")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }

// The first half of a faststart MP4 still declares its whole length; it
// is refused when probed, before a render can succeed at half length.
func TestProbe_RefusesTruncatedUpload(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ name, ext, codec, flags string }{
		{"faststart mp4", ".mp4", "libx264", "+faststart"},
		{"webm", ".webm", "libvpx-vp9", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			whole := filepath.Join(dir, "whole"+tt.ext)
			args := []string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:duration=4", "-c:v", tt.codec}
			if tt.flags != "" {
				args = append(args, "-movflags", tt.flags)
			}
			if out, err := exec.Command("ffmpeg", append(args, whole)...).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			data, err := os.ReadFile(whole)
			if err != nil {
				t.Fatal(err)
			}
			half := filepath.Join(dir, "half"+tt.ext)
			if err := os.WriteFile(half, data[:len(data)/2], 0o644); err != nil {
				t.Fatal(err)
			}
			p := media.Prober{FFprobe: "ffprobe", Limits: media.DefaultLimits()}
			if _, err := p.Probe(context.Background(), whole, errcode.SourceUnreadable); err != nil {
				t.Fatalf("the whole file: %v", err)
			}
			info, err := p.Probe(context.Background(), half, errcode.SourceUnreadable)
			if errcode.Of(err) != errcode.SourceUnreadable {
				t.Fatalf("half the file: got %+v, %v; want SOURCE_UNREADABLE", info, err)
			}
		})
	}
}
