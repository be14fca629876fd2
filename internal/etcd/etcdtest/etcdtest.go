// Package etcdtest starts embedded etcd clusters on loopback ports for tests:
// one member for a store test, three for a failover test. Everything it
// starts is stopped when the test ends.
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Cluster is a set of embedded members that form one etcd cluster.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	configs []etcd.MemberConfig
	members []*etcd.Member // nil while a member is stopped
}

// StartCluster starts n members concurrently (a new cluster needs a quorum
// up before any member is ready) with fresh data dirs and free ports, and
// stops them at the end of the test.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	var err error
	for try := 0; try < 3; try++ {
		var c *Cluster
		if c, err = startCluster(t, n); err == nil {
			return c
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			break // only a port taken between picking and listening is worth another try
		}
	}
	t.Fatalf("etcdtest: start %d members: %v", n, err)
	return nil
}

func startCluster(t testing.TB, n int) (*Cluster, error) {
	clients, peers, err := etcd.FreeLocalURLs(n)
	if err != nil {
		return nil, err
	}
	c := &Cluster{t: t, configs: make([]etcd.MemberConfig, n), members: make([]*etcd.Member, n)}
	initial := make([]string, n)
	for i := range n {
		initial[i] = fmt.Sprintf("m%d=%s", i, peers[i])
	}
	token := fmt.Sprintf("etcdtest-%d", time.Now().UnixNano())
	for i := range n {
		c.configs[i] = etcd.MemberConfig{
			Name:           fmt.Sprintf("m%d", i),
			DataDir:        t.TempDir(),
			ClientURLs:     clients[i : i+1],
			PeerURLs:       peers[i : i+1],
			InitialCluster: strings.Join(initial, ","),
			ClusterToken:   token,
			StartTimeout:   30 * time.Second,
		}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { c.members[i], errs[i] = etcd.StartMember(context.Background(), c.configs[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.stopAll()
		return nil, err
	}
	t.Cleanup(c.stopAll)
	return c, nil
}

// stopAll kills the running members at once: a graceful close of them all
// together makes each leader wait ~7s trying to hand its leadership to a
// member that is stopping too.
func (c *Cluster) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range c.members {
		if m != nil {
			wg.Go(m.Kill)
		}
	}
	wg.Wait()
	clear(c.members)
}

// Member returns member i, nil while it is stopped.
func (c *Cluster) Member(i int) *etcd.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i]
}

// Endpoints are the client URLs of the given members, of all when none is
// named.
func (c *Cluster) Endpoints(members ...int) []string {
	if len(members) == 0 {
		for i := range c.configs {
			members = append(members, i)
		}
	}
	var eps []string
	for _, i := range members {
		eps = append(eps, c.configs[i].ClientURLs...)
	}
	return eps
}

// Client dials the given members (all when none is named) and closes the
// client at the end of the test.
func (c *Cluster) Client(members ...int) *clientv3.Client {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := etcd.Dial(ctx, c.Endpoints(members...))
	if err != nil {
		c.t.Fatalf("etcdtest: dial: %v", err)
	}
	c.t.Cleanup(func() { cli.Close() })
	return cli
}

// WaitLeader waits up to timeout for a running member to lead and returns
// its index.
func (c *Cluster) WaitLeader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for i, m := range c.members {
			if m != nil && m.IsLeader() {
				c.mu.Unlock()
				return i
			}
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("etcdtest: no leader within %s", timeout)
	return -1
}

// Kill stops member i as a crash would (see etcd.Member.Kill).
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	m := c.members[i]
	c.members[i] = nil
	c.mu.Unlock()
	if m != nil {
		m.Kill()
	}
}

// Restart starts a stopped member i again on its data dir and ports, as a
// member of the existing cluster.
func (c *Cluster) Restart(i int) *etcd.Member {
	c.t.Helper()
	cfg := c.configs[i]
	cfg.InitialClusterState = "existing"
	m, err := etcd.StartMember(context.Background(), cfg)
	if err != nil {
		c.t.Fatalf("etcdtest: restart %s: %v", cfg.Name, err)
	}
	c.mu.Lock()
	c.members[i] = m
	c.mu.Unlock()
	return m
}

// RunWithMember is a TestMain body: it starts one embedded member for the
// whole package, hands its client to set, runs the tests and stops the
// member. Packages whose tests share a member keep their records under a
// prefix per test.
func RunWithMember(m *testing.M, name string, set func(*clientv3.Client)) int {
	dir, err := os.MkdirTemp("", name+"-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	member, err := etcd.StartMember(ctx, etcd.MemberConfig{Name: "shared", DataDir: dir, ClientURLs: clients, PeerURLs: peers})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer member.Kill()
	cli, err := member.Client(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cli.Close()
	set(cli)
	return m.Run()
}
