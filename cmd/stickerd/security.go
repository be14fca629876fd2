package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"google.golang.org/grpc"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/internal/sharedstate"
	"github.com/stickerd/stickerd/internal/tlsconf"
)

// uses says which outgoing connections a command makes, and so which
// security flags it has besides internal/tlsconf's.
type uses uint8

const (
	usesEtcd uses = 1 << iota
	usesKafka
)

// securityOpts are a command's TLS and authentication flags (docs/security.md).
type securityOpts struct {
	fs                                     *flag.FlagSet
	tls                                    tlsconf.Config
	etcdUser, etcdPassword                 string
	kafkaTLS                               bool
	kafkaSASLMechanism, kafkaUser, kafkaPW string
}

func securityFlags(fs *flag.FlagSet, which tlsconf.Which, u uses) *securityOpts {
	o := &securityOpts{fs: fs, tls: tlsconf.DefaultConfig()}
	tlsconf.Register(fs, &o.tls, which)
	if u&usesEtcd != 0 {
		fs.StringVar(&o.etcdUser, "etcd-user", "", "etcd user (a cluster with auth enabled); https:// --etcd-endpoints are dialed over TLS with --tls-ca and the client certificate")
		fs.StringVar(&o.etcdPassword, "etcd-password", "", "password of --etcd-user")
	}
	if u&usesKafka != 0 {
		fs.BoolVar(&o.kafkaTLS, "kafka-tls", false, "dial the Kafka brokers over TLS (verified with --tls-ca; the client certificate is presented)")
		fs.StringVar(&o.kafkaUser, "kafka-sasl-user", "", "SASL user for the Kafka brokers")
		fs.StringVar(&o.kafkaPW, "kafka-sasl-password", "", "password of --kafka-sasl-user")
		fs.StringVar(&o.kafkaSASLMechanism, "kafka-sasl-mechanism", queue.ScramSHA512, "SASL mechanism: SCRAM-SHA-512, SCRAM-SHA-256, or PLAIN (with --kafka-tls only)")
	}
	return o
}

// validate checks the flags; serve says whether the command serves TLS
// with them (a scheduler requiring client certificates or a token needs
// a certificate).
func (o *securityOpts) validate(server bool) error {
	err := o.tls.ValidateClient()
	if server {
		err = o.tls.ValidateServer()
	}
	if err == nil && o.kafkaUser != "" {
		_, err = o.queue(queue.Config{Brokers: []string{"-"}})
	}
	if err != nil {
		return errUsage{o.fs, err}
	}
	return nil
}

// clientTLS is the TLS configuration of outgoing connections: the CA
// (default: the system roots) and the client certificate.
func (o *securityOpts) clientTLS() (*tls.Config, error) {
	tc, err := o.tls.Client()
	if tc == nil && err == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return tc, err
}

// etcd is the etcd client configuration for endpoints.
func (o *securityOpts) etcd(endpoints []string) (etcd.ClientConfig, error) {
	cc := etcd.ClientConfig{Endpoints: endpoints, Username: o.etcdUser, Password: o.etcdPassword}
	if cc.Secure() {
		tc, err := o.clientTLS()
		if err != nil {
			return cc, err
		}
		cc.TLS = tc
	}
	return cc, nil
}

// queue adds the Kafka TLS and SASL settings to qc and validates it.
func (o *securityOpts) queue(qc queue.Config) (queue.Config, error) {
	if o.kafkaTLS {
		tc, err := o.clientTLS()
		if err != nil {
			return qc, err
		}
		qc.TLS = tc
	}
	if o.kafkaUser != "" || o.kafkaPW != "" {
		qc.SASLMechanism, qc.SASLUser, qc.SASLPassword = o.kafkaSASLMechanism, o.kafkaUser, o.kafkaPW
	}
	return qc, qc.Validate()
}

// redis adds the TLS settings of a rediss:// URL to cc.
func (o *securityOpts) redis(cc *sharedstate.Config) error {
	if !strings.HasPrefix(cc.RedisURL, "rediss://") || !o.tls.ClientEnabled() {
		return nil
	}
	tc, err := o.tls.Client()
	cc.RedisTLS = tc
	return err
}

// grpcServer is the scheduler's gRPC server options.
func (o *securityOpts) grpcServer(log *slog.Logger) ([]grpc.ServerOption, error) {
	if !o.tls.ServerEnabled() {
		log.Warn("the scheduler's gRPC is plain text: anyone who reaches --grpc-addr can register as a worker (give --tls-cert, --tls-key and --tls-ca)")
	} else if o.tls.CAFile == "" && o.tls.JoinToken == "" {
		log.Warn("workers and edges are not authenticated: give --tls-ca (client certificates) or --join-token")
	}
	return tlsconf.GRPCServerOptions(o.tls, log)
}

// grpcDial is a worker's or an edge's options towards the scheduler.
func (o *securityOpts) grpcDial() ([]grpc.DialOption, error) { return tlsconf.GRPCDialOptions(o.tls) }

// serveHTTP serves h on addr until ctx ends: over TLS (HTTP/2 and 1.1)
// when the command has a certificate, in plain text otherwise.
func (o *securityOpts) serveHTTP(ctx context.Context, addr string, h http.Handler) error {
	tc, err := o.tls.Server(false, "h2", "http/1.1")
	if err != nil {
		return err
	}
	return serveHTTP(ctx, addr, h, tc)
}

func serveHTTP(ctx context.Context, addr string, h http.Handler, tc *tls.Config) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tc != nil {
		lis = tls.NewListener(lis, tc)
	}
	return health.ServeListener(ctx, lis, h, health.DefaultServerConfig())
}

// scheme is the scheme of the command's HTTP listener.
func (o *securityOpts) scheme() string {
	if o.tls.ServerEnabled() {
		return "https"
	}
	return "http"
}

// kvTLS is the TLS of a `stickerd kv` member: --tls-cert and --tls-key
// serve clients and peers, --tls-ca requires their certificates.
func kvTLSFlags(fs *flag.FlagSet, cfg *etcd.MemberConfig) {
	fs.StringVar(&cfg.CertFile, "tls-cert", "", "certificate (PEM) served to clients and peers, and presented to peers (serverAuth and clientAuth usages); needs https:// URLs")
	fs.StringVar(&cfg.KeyFile, "tls-key", "", "private key (PEM) of --tls-cert")
	fs.StringVar(&cfg.TrustedCAFile, "tls-ca", "", "CA bundle (PEM): clients and peers must present a certificate it issued")
	fs.BoolVar(&cfg.InsecureListen, "insecure-listen", false, "listen off loopback without TLS (a network trusted as a whole); refused otherwise")
}

func describeTLS(c tlsconf.Config) string {
	switch {
	case c.ServerEnabled() && c.CAFile != "":
		return fmt.Sprintf("tls, client certificates of %s", c.CAFile)
	case c.ServerEnabled():
		return "tls"
	}
	return "plain"
}
