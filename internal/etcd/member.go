package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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
	stopping := new(atomic.Bool)
	logger, err := memberLogger(c.Logger, c.LogLevel, stopping)
	if err != nil {
		return nil, err
	}
	ec, err := c.embedConfig(logger)
	if err != nil {
		return nil, err
	}
	// A port taken by another process is the usual reason a member cannot
	// start; say which one plainly instead of letting etcd fail half-way.
	if err := portsFree(c); err != nil {
		return nil, err
	}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		if perr := portInUse(c, err); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("etcd: start member %s: %w", c.Name, err)
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
		return nil, fmt.Errorf("etcd: start member %s: %w", c.Name, ctx.Err())
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
	return DialConfig(ctx, m.ClientConfig())
}

// ClientConfig is how to reach this member alone: its client URLs, and
// with TLS its own certificate and CA.
func (m *Member) ClientConfig() ClientConfig {
	tc, _ := m.cfg.clientTLS() // loaded once already by StartMember
	return ClientConfig{Endpoints: m.Endpoints(), TLS: tc}
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

// memberLogger is etcd's logger: its zap entries at level and above become
// records of log (slog.Default() when nil) with component=etcd. It is
// silenced once stopping is set: a member being stopped logs every listener
// it closes as an error ("setting up serving from embedded etcd failed"),
// noise that would hide real failures in service logs and test output.
func memberLogger(log *slog.Logger, level string, stopping *atomic.Bool) (func(*embed.Config) error, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, invalid("log_level %q: %v", level, err)
	}
	if log == nil {
		log = slog.Default()
	}
	lg := zapLogger(log.With("component", "etcd"), lvl).WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return quietCore{Core: c, stopping: stopping}
	}))
	return embed.NewZapLoggerBuilder(lg), nil
}

// portsFree checks that the member's listen ports are free, so that a port
// another process holds is one *PortInUseError rather than a failure of
// etcd's. A port freed a moment ago (TIME_WAIT) counts as free.
func portsFree(c MemberConfig) error {
	for _, l := range []struct {
		role string
		urls []string
	}{{"client", c.ListenClientURLs}, {"peer", c.ListenPeerURLs}} {
		for _, raw := range l.urls {
			u, err := url.Parse(raw)
			if err != nil || u.Port() == "0" {
				continue // validated already; port 0 is never taken
			}
			ln, err := net.Listen("tcp", u.Host)
			if errors.Is(err, syscall.EADDRINUSE) {
				return &PortInUseError{Role: l.role, Addr: u.Host}
			}
			if err == nil {
				ln.Close()
			}
		}
	}
	return nil
}

// portInUse turns etcd's failure to listen on a taken port (another
// process won the race after portsFree) into a *PortInUseError.
func portInUse(c MemberConfig, err error) error {
	var op *net.OpError
	if !errors.Is(err, syscall.EADDRINUSE) || !errors.As(err, &op) || op.Addr == nil {
		return nil
	}
	addr := op.Addr.String()
	role := "client"
	for _, raw := range c.ListenPeerURLs {
		if u, perr := url.Parse(raw); perr == nil && u.Host == addr {
			role = "peer"
		}
	}
	return &PortInUseError{Role: role, Addr: addr}
}

type quietCore struct {
	zapcore.Core
	stopping *atomic.Bool
}

func (c quietCore) With(fields []zapcore.Field) zapcore.Core {
	return quietCore{Core: c.Core.With(fields), stopping: c.stopping}
}

func (c quietCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.stopping.Load() && e.Level < zapcore.DPanicLevel {
		return ce
	}
	return c.Core.Check(e, ce)
}
