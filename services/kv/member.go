package kv

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// Member is one running embedded etcd member.
type Member struct {
	cfg      MemberConfig
	etcd     *embed.Etcd
	stop     sync.Once
	stopping *atomic.Bool // silences the logger (see memberLogger)
}

// StartMember starts a member and waits until it serves clients, which for
// a member of a multi-member cluster means until a quorum of its peers is up
// and it has joined: start the members of a new cluster concurrently. It
// returns an error, never hangs, when the member cannot start within
// StartTimeout or ctx.
func StartMember(ctx context.Context, cfg MemberConfig) (*Member, error) {
	c := cfg.withDefaults()
	ec, err := c.embedConfig()
	if err != nil {
		return nil, err
	}
	stopping := new(atomic.Bool)
	if ec.ZapLoggerBuilder, err = memberLogger(c.LogLevel, stopping); err != nil {
		return nil, err
	}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("kv: start member %s: %w", c.Name, err)
	}
	m := &Member{cfg: c, etcd: e, stopping: stopping}
	timer := time.NewTimer(c.StartTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return m, nil
	case err := <-e.Err():
		m.Close()
		return nil, fmt.Errorf("%w: %s while starting: %v", ErrStopped, c.Name, err)
	case <-e.Server.StopNotify():
		m.Close()
		return nil, fmt.Errorf("%w: %s while starting", ErrStopped, c.Name)
	case <-ctx.Done():
		m.Kill()
		return nil, fmt.Errorf("kv: start member %s: %w", c.Name, ctx.Err())
	case <-timer.C:
		// Nothing was committed while waiting, so there is nothing a
		// graceful stop would hand over.
		m.Kill()
		return nil, fmt.Errorf("%w: %s after %s (are enough peers of %s up?)", ErrStartTimeout, c.Name, c.StartTimeout, c.InitialCluster)
	}
}

// Name is the member's name in the cluster.
func (m *Member) Name() string { return m.cfg.Name }

// Endpoints are the client URLs the member advertises.
func (m *Member) Endpoints() []string { return append([]string(nil), m.cfg.ClientURLs...) }

// Client returns a client of this member alone; the caller closes it.
func (m *Member) Client(ctx context.Context) (*clientv3.Client, error) {
	return Dial(ctx, m.Endpoints())
}

// IsLeader reports whether the member is running and is the Raft leader.
func (m *Member) IsLeader() bool {
	select {
	case <-m.etcd.Server.StopNotify():
		return false
	default:
	}
	return m.etcd.Server.Leader() == m.etcd.Server.MemberID()
}

// Close stops the member gracefully: a leader hands its leadership over
// first, so the cluster sees no election timeout. Safe to call twice.
func (m *Member) Close() {
	m.stop.Do(func() {
		m.stopping.Store(true)
		m.etcd.Close()
	})
}

// Kill stops the member as a crash would: Raft stops at once, without
// handing leadership over, so the remaining members must notice the silence
// and elect a new leader. The data dir stays usable for a restart. For
// failover tests; safe to call twice, and after Close.
func (m *Member) Kill() {
	m.stop.Do(func() {
		m.stopping.Store(true)
		m.etcd.Server.HardStop()
		m.etcd.Close()
	})
}

// Run starts a member and serves until ctx ends, then stops it gracefully:
// the body of the `stickerd kv` subcommand. It returns nil when ctx ended
// and an error when the member could not start or stopped on its own.
func Run(ctx context.Context, cfg MemberConfig) error {
	m, err := StartMember(ctx, cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	select {
	case <-ctx.Done():
		return nil
	case err := <-m.etcd.Err():
		return fmt.Errorf("%w: %s: %v", ErrStopped, m.cfg.Name, err)
	case <-m.etcd.Server.StopNotify():
		return fmt.Errorf("%w: %s", ErrStopped, m.cfg.Name)
	}
}

// FreeLocalURLs picks 2n free loopback ports, for tests: n client URLs and
// n peer URLs. The ports are free when it returns; another process may
// still take one before a member listens on it.
func FreeLocalURLs(n int) (clients, peers []string, err error) {
	ls := make([]net.Listener, 0, 2*n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range 2 * n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("kv: pick a free port: %w", err)
		}
		ls = append(ls, l)
	}
	for i, l := range ls {
		u := "http://" + l.Addr().String()
		if i < n {
			clients = append(clients, u)
		} else {
			peers = append(peers, u)
		}
	}
	return clients, peers, nil
}
