package etcd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func singleConfig(t *testing.T) etcd.MemberConfig {
	t.Helper()
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		t.Fatal(err)
	}
	return etcd.MemberConfig{Name: "solo", DataDir: t.TempDir(), ClientURLs: clients, PeerURLs: peers, StartTimeout: 20 * time.Second}
}

func TestMember_SingleServesPutGet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := etcd.StartMember(ctx, singleConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.IsLeader() {
		t.Error("a single member should lead")
	}
	cli, err := m.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, "/k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("get: %v %v", resp, err)
	}
	m.Close()
	m.Close() // twice is fine
	if m.IsLeader() {
		t.Error("a stopped member still leads")
	}
}

func TestStartMember_FailsInsteadOfHanging(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, c *etcd.MemberConfig)
		want error
	}{
		{"no quorum", func(t *testing.T, c *etcd.MemberConfig) {
			_, peers, err := etcd.FreeLocalURLs(2)
			if err != nil {
				t.Fatal(err)
			}
			c.InitialCluster = fmt.Sprintf("solo=%s,b=%s,c=%s", c.PeerURLs[0], peers[0], peers[1])
			c.StartTimeout = 1500 * time.Millisecond
		}, etcd.ErrStartTimeout},
		{"invalid config", func(t *testing.T, c *etcd.MemberConfig) { c.InitialClusterState = "maybe" }, etcd.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := singleConfig(t)
			tt.edit(t, &c)
			start := time.Now()
			m, err := etcd.StartMember(context.Background(), c)
			if err == nil {
				m.Close()
				t.Fatal("started")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %s to fail", d)
			}
		})
	}
	t.Run("port in use", func(t *testing.T) {
		c := singleConfig(t)
		m, err := etcd.StartMember(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		c.DataDir = t.TempDir()
		m2, err := etcd.StartMember(context.Background(), c)
		if err == nil {
			m2.Close()
			t.Fatal("second member on the same ports started")
		}
		var pe *etcd.PortInUseError
		if !errors.Is(err, etcd.ErrPortInUse) || !errors.As(err, &pe) || pe.Role != "client" {
			t.Fatalf("err = %v, want the client port in use", err)
		}
	})
}

// A port another process holds is one plain error naming it, and etcd logs
// nothing about it (no stack trace in the service's log).
func TestStartMember_PortTakenByAnotherProcess(t *testing.T) {
	for _, role := range []string{"peer", "client"} {
		t.Run(role, func(t *testing.T) {
			c := singleConfig(t)
			taken := c.PeerURLs[0]
			if role == "client" {
				taken = c.ClientURLs[0]
			}
			host := strings.TrimPrefix(taken, "http://")
			l, err := net.Listen("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var logs bytes.Buffer
			c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			m, err := etcd.StartMember(context.Background(), c)
			if err == nil {
				m.Close()
				t.Fatal("started on a taken port")
			}
			var pe *etcd.PortInUseError
			if !errors.As(err, &pe) || pe.Role != role || pe.Addr != host {
				t.Fatalf("err = %v, want %s port %s in use", err, role, host)
			}
			_, port, _ := net.SplitHostPort(host)
			if pe.Port() != port || !strings.Contains(err.Error(), role+" port "+port+" is in use") {
				t.Errorf("error %q does not name the %s port %s", err, role, port)
			}
			if logs.Len() > 0 {
				t.Errorf("etcd logged about the taken port:\n%s", logs.String())
			}
		})
	}
}

func TestRun_StopsWithContext(t *testing.T) {
	c := singleConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- etcd.Run(ctx, c) }()
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer dcancel()
	var cli *clientv3.Client
	var err error
	for cli == nil && dctx.Err() == nil {
		if cli, err = etcd.Dial(dctx, c.ClientURLs); err != nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if cli == nil {
		t.Fatalf("member of Run never answered: %v", err)
	}
	cli.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
}

func TestDial_Unreachable(t *testing.T) {
	clients, _, err := etcd.FreeLocalURLs(1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if cli, err := etcd.Dial(ctx, clients); !errors.Is(err, etcd.ErrUnreachable) {
		if cli != nil {
			cli.Close()
		}
		t.Fatalf("Dial to nothing = %v", err)
	}
}

func TestCluster_SurvivesLeaderLossAndRejoins(t *testing.T) {
	if testing.Short() {
		t.Skip("3-member failover test")
	}
	c := etcdtest.StartCluster(t, 3)
	leader := c.WaitLeader(10 * time.Second)
	cli := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "/before", "1"); err != nil {
		t.Fatal(err)
	}

	killed := time.Now()
	c.Kill(leader)
	var others []int
	for i := range 3 {
		if i != leader {
			others = append(others, i)
		}
	}
	survivors := c.Client(others...)
	for {
		wctx, wcancel := context.WithTimeout(ctx, time.Second)
		_, err := survivors.Put(wctx, "/after", "2")
		wcancel()
		if err == nil {
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("no write succeeded within 10s of losing the leader: %v", err)
		}
	}
	t.Logf("write accepted %s after the leader was killed", time.Since(killed).Round(time.Millisecond))
	newLeader := c.WaitLeader(5 * time.Second)
	if newLeader == leader {
		t.Fatal("killed member still leads")
	}

	m := c.Restart(leader)
	local := c.Client(leader)
	for {
		// A serializable read answers from the member's own copy: it
		// shows the member caught up with what happened while it was down.
		resp, err := local.Get(ctx, "/after", clientv3.WithSerializable())
		if err == nil && len(resp.Kvs) == 1 && string(resp.Kvs[0].Value) == "2" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("restarted member %s never caught up: %v", m.Name(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := local.Put(ctx, "/rejoined", "3"); err != nil {
		t.Fatalf("write through the restarted member: %v", err)
	}
}
