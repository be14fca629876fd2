package gateway

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stickerd/stickerd/services/kv"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// shared is one embedded etcd member for the tests that do not stop it;
// each test keeps its records under a prefix of its own.
var shared *clientv3.Client

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gateway-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	clients, peers, err := kv.FreeLocalURLs(1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	member, err := kv.StartMember(ctx, kv.MemberConfig{Name: "shared", DataDir: dir, ClientURLs: clients, PeerURLs: peers})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer member.Kill()
	if shared, err = member.Client(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer shared.Close()
	return m.Run()
}
