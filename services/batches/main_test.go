package batches

import (
	"os"
	"testing"

	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// shared is one embedded etcd member; each test keeps its records under a
// prefix of its own.
var shared *clientv3.Client

func TestMain(m *testing.M) {
	os.Exit(etcdtest.RunWithMember(m, "batches", func(c *clientv3.Client) { shared = c }))
}
