package media_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stickerd/stickerd/monitoring/errcode"
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
