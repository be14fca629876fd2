package assets

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	"github.com/stickerd/stickerd/render/media"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// shared is one embedded etcd member for the tests that do not stop it;
// each test keeps its records under a prefix of its own.
var shared *clientv3.Client

func TestMain(m *testing.M) {
	os.Exit(etcdtest.RunWithMember(m, "assets", func(c *clientv3.Client) { shared = c }))
}

// newStore is a store on the shared member under a prefix for this test,
// with its blobs in a fresh folder.
func newStore(t *testing.T) (*Store, blob.Dir) {
	t.Helper()
	blobs := blob.Dir{Root: t.TempDir()}
	prober := media.Prober{FFprobe: "ffprobe", Limits: media.DefaultLimits()}
	prefix := fmt.Sprintf("/test/%s/%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	return New(shared, prefix, blobs, prober), blobs
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
