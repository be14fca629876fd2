package gateway

import (
	"os"
	"testing"

	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// shared is one embedded etcd member for the tests that do not stop it;
// each test keeps its records under a prefix of its own.
var shared *clientv3.Client

func TestMain(m *testing.M) {
	os.Exit(etcdtest.RunWithMember(m, "gateway", func(c *clientv3.Client) { shared = c }))
}
