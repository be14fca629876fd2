package etcd

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stickerd/stickerd/internal/tracing"
)

// Client timeouts: a dead endpoint is given up on within seconds, and a
// half-open TCP connection is noticed by keepalive instead of hanging a
// request until its context ends.
const (
	dialTimeout          = 5 * time.Second
	dialKeepAliveTime    = 10 * time.Second
	dialKeepAliveTimeout = 3 * time.Second
)

// Dial connects to the members at endpoints (an external cluster, or
// embedded members) and checks that at least one answers before ctx ends
// (or within 5s when ctx has no deadline); otherwise it returns
// ErrUnreachable. The client balances over the endpoints and moves on from
// a dead one; the caller closes it.
func Dial(ctx context.Context, endpoints []string) (*clientv3.Client, error) {
	return DialConfig(ctx, ClientConfig{Endpoints: endpoints})
}

// ClientConfig is how a client reaches and authenticates to a cluster.
type ClientConfig struct {
	// Endpoints are host:port or URLs; https:// ones are dialed over TLS.
	Endpoints []string
	// TLS is used for https:// endpoints: the CA that verifies the members
	// and the client certificate they may require. nil: the system roots
	// and no client certificate. Ignored for http:// endpoints.
	TLS *tls.Config
	// Username and Password authenticate to a cluster with etcd's users
	// and roles enabled (etcdctl auth enable).
	Username, Password string
}

// Secure reports whether the endpoints are dialed over TLS.
func (c ClientConfig) Secure() bool {
	for _, ep := range c.Endpoints {
		if strings.HasPrefix(ep, "https://") {
			return true
		}
	}
	return false
}

// DialConfig is Dial with TLS and credentials.
func DialConfig(ctx context.Context, cc ClientConfig) (*clientv3.Client, error) {
	endpoints := cc.Endpoints
	if len(endpoints) == 0 {
		return nil, invalid("no endpoints to dial")
	}
	if cc.Secure() {
		for _, ep := range endpoints {
			if !strings.HasPrefix(ep, "https://") {
				return nil, invalid("endpoint %q: every endpoint must be https:// when one is", ep)
			}
		}
	}
	// The client's errors go to the process's log (slog.Default()); its
	// warnings are retries that the callers see and report themselves.
	lg := zapLogger(slog.Default().With("component", "etcd-client"), zap.ErrorLevel)
	var tc *tls.Config
	if cc.Secure() {
		tc = cc.TLS
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          dialTimeout,
		DialKeepAliveTime:    dialKeepAliveTime,
		DialKeepAliveTimeout: dialKeepAliveTimeout,
		Logger:               lg,
		TLS:                  tc,
		Username:             cc.Username,
		Password:             cc.Password,
		// With tracing on, a KV request made inside a trace (a job's
		// write) is a span of it; see tracing.GRPCClientOptions.
		DialOptions: tracing.GRPCClientOptions(),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialTimeout)
		defer cancel()
	}
	if err := anyAnswers(ctx, cli, endpoints); err != nil {
		cli.Close()
		return nil, err
	}
	return cli, nil
}

// anyAnswers asks every endpoint for its status at once (a dead one makes
// its request wait for the deadline) and returns when the first answers.
func anyAnswers(ctx context.Context, cli *clientv3.Client, endpoints []string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(endpoints))
	for _, ep := range endpoints {
		go func() {
			_, err := cli.Status(ctx, ep)
			errs <- err
		}()
	}
	var last error
	for range endpoints {
		if last = <-errs; last == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: %v: %v", ErrUnreachable, endpoints, last)
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
			return nil, nil, fmt.Errorf("etcd: pick a free port: %w", err)
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
