package scheduler

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
)

// TestFollowQueueDepth: the gateway's reading of the published depth is a
// memory read that follows every publication through the watch, reports
// the depth as unknown (the gateway admits) only before the first value,
// and keeps the last value while etcd is gone, without ever blocking.
func TestFollowQueueDepth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := etcd.StartMember(ctx, etcd.MemberConfig{Name: "solo", DataDir: t.TempDir(), ClientURLs: clients, PeerURLs: peers, StartTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cli, err := m.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := PublishQueueDepth(ctx, cli, 7); err != nil {
		t.Fatal(err)
	}
	read := FollowQueueDepth(ctx, cli)
	waitDepth := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := read()
			if err == nil && n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("depth %d (%v), want %d", n, err, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitDepth(7)
	for _, n := range []int{500, 0, 12} {
		if err := PublishQueueDepth(ctx, cli, n); err != nil {
			t.Fatal(err)
		}
		waitDepth(n)
	}
	m.Kill()
	start := time.Now()
	for i := 0; i < 1000; i++ {
		if n, err := read(); err != nil || n != 12 {
			t.Fatalf("with etcd gone: %d, %v; want the last value", n, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("1000 readings took %s with etcd gone: a reading waits on etcd", d)
	}

	// Before any value: unknown.
	fresh := &depthFollower{}
	if _, err := fresh.read(); !errors.Is(err, errDepthUnknown) {
		t.Fatalf("first reading: %v, want errDepthUnknown", err)
	}
}
