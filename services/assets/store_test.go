package assets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/services/assets/assetstest"
)

func TestStore_PutIdentifiesUploads(t *testing.T) {
	s, blobs := newStore(t)
	ctx := testCtx(t)
	tests := []struct {
		name         string
		data         []byte
		declared     string
		kind         Kind
		contentType  string
		width, hight int
		moving       bool
	}{
		{"png", assetstest.PNG(t, 40, 30), "application/octet-stream", KindImage, "image/png", 40, 30, false},
		{"animated gif", assetstest.GIF(t), "", KindImage, "image/gif", 0, 0, true},
		{"mp4", assetstest.MP4(t), "video/mp4", KindVideo, "video/mp4", 64, 48, true},
		{"font", assetstest.Font(), "font/ttf", KindFont, "font/ttf", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := s.Put(ctx, "acme", tt.declared, bytes.NewReader(tt.data), 0)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(tt.data)
			if !ValidID(a.ID) || a.Tenant != "acme" || a.Kind != tt.kind || a.ContentType != tt.contentType ||
				a.Bytes != int64(len(tt.data)) || a.SHA256 != hex.EncodeToString(sum[:]) || a.CreatedAt.IsZero() {
				t.Fatalf("asset %+v", a)
			}
			if tt.width > 0 && (a.Width != tt.width || a.Height != tt.hight) {
				t.Fatalf("size %dx%d, want %dx%d", a.Width, a.Height, tt.width, tt.hight)
			}
			if tt.moving != (a.Duration > 0) {
				t.Fatalf("duration %g", a.Duration)
			}
			got, err := s.Get(ctx, "acme", a.ID)
			if err != nil || *got != *a {
				t.Fatalf("Get = %+v, %v; want %+v", got, err, a)
			}
			if h, err := s.Hash(ctx, "acme", a.ID); err != nil || h != a.SHA256 {
				t.Fatalf("Hash = %q, %v", h, err)
			}
			obj, err := blobs.Open(ctx, blob.AssetKey("acme", a.ID))
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Close()
			if b, _ := io.ReadAll(obj); !bytes.Equal(b, tt.data) {
				t.Fatal("the stored bytes differ from the upload")
			}
		})
	}
	if left := files(t, filepath.Join(blobs.Root, "uploads")); len(left) > 0 {
		t.Fatalf("temporary uploads left behind: %v", left)
	}
}

func TestStore_PutRefusesBadUploads(t *testing.T) {
	s, blobs := newStore(t)
	ctx := testCtx(t)
	png := assetstest.PNG(t, 64, 48)
	tests := []struct {
		name  string
		tweak func(*Store)
		r     io.Reader
		limit int64
		want  errcode.Code
	}{
		{"garbage", nil, bytes.NewReader(bytes.Repeat([]byte("not a video "), 100)), 0, errcode.AssetUnsupported},
		{"empty", nil, bytes.NewReader(nil), 0, errcode.AssetUnsupported},
		{"over the limit", nil, bytes.NewReader(png), int64(len(png) - 1), errcode.AssetTooLarge},
		{"broken font", nil, bytes.NewReader(append([]byte("\x00\x01\x00\x00"), make([]byte, 200)...)), 0, errcode.AssetUnsupported},
		{"font over its limit", func(s *Store) { s.MaxFontBytes = 100 }, bytes.NewReader(assetstest.Font()), 0, errcode.AssetTooLarge},
		{"picture over the pixel limits", func(s *Store) { s.prober.Limits.MaxWidth, s.prober.Limits.MaxHeight = 32, 32 },
			bytes.NewReader(png), 0, errcode.AssetTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := *s
			if tt.tweak != nil {
				tt.tweak(&st)
			}
			a, err := st.Put(ctx, "acme", "", tt.r, tt.limit)
			if got := errcode.Of(err); got != tt.want {
				t.Fatalf("Put = %+v, %v; code %s, want %s", a, err, got, tt.want)
			}
		})
	}
	t.Run("a failing reader is the upload's fault", func(t *testing.T) {
		_, err := s.Put(ctx, "acme", "", iotest.ErrReader(errors.New("client went away")), 0)
		if !errors.Is(err, ErrUploadRead) {
			t.Fatalf("err = %v, want ErrUploadRead", err)
		}
	})
	t.Run("a bad tenant", func(t *testing.T) {
		if _, err := s.Put(ctx, "../x", "", bytes.NewReader(png), 0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
	})
	if left := files(t, blobs.Root); len(left) > 0 {
		t.Fatalf("refused uploads left files behind: %v", left)
	}
}

func TestStore_GetIsPerTenant(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	a, err := s.Put(ctx, "acme", "image/png", bytes.NewReader(assetstest.PNG(t, 16, 16)), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, tenant, id string }{
		{"another tenant", "globex", a.ID},
		{"missing id", "acme", NewID()},
		{"malformed id", "acme", "ast_../x"},
		{"malformed tenant", "a/b", a.ID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Get(ctx, tt.tenant, tt.id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get = %v, want ErrNotFound", err)
			}
			if _, err := s.Hash(ctx, tt.tenant, tt.id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Hash = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestStore_UnavailableWhenEtcdIsDown(t *testing.T) {
	c := etcdtest.StartCluster(t, 1)
	blobs := blob.Dir{Root: t.TempDir()}
	s := New(c.Client(), "", blobs, media.Prober{FFprobe: "ffprobe", Limits: media.DefaultLimits()})
	s.RequestTimeout = 500 * time.Millisecond
	ctx := testCtx(t)
	a, err := s.Put(ctx, "acme", "", bytes.NewReader(assetstest.PNG(t, 16, 16)), 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(0)
	if _, err := s.Get(ctx, "acme", a.ID); errcode.Of(err) != errcode.StateStoreUnavailable {
		t.Fatalf("Get with etcd down = %v, want STATE_STORE_UNAVAILABLE", err)
	}
	_, err = s.Put(ctx, "acme", "", bytes.NewReader(assetstest.PNG(t, 16, 16)), 0)
	if errcode.Of(err) != errcode.StateStoreUnavailable {
		t.Fatalf("Put with etcd down = %v, want STATE_STORE_UNAVAILABLE", err)
	}
	if left := files(t, filepath.Join(blobs.Root, "assets")); len(left) != 1 {
		t.Fatalf("blobs after a failed record write: %v, want only the first asset", left)
	}
}

// files lists the regular files under root.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
