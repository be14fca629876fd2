package tlsconf

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/stickerd/stickerd/internal/metrics"
)

// TokenHeader is the gRPC metadata key that carries the join token.
const TokenHeader = "stickerd-join-token"

// Reasons a scheduler refuses a connection or a call, the values of the
// reason label of stickerd_scheduler_auth_refused_total.
const (
	ReasonPlaintext      = "plaintext"       // not TLS at all
	ReasonNoCertificate  = "no_certificate"  // TLS without a client certificate
	ReasonBadCertificate = "bad_certificate" // a certificate the CA did not issue, expired, or not for client auth
	ReasonHandshake      = "handshake"       // another handshake failure
	ReasonToken          = "token"           // a missing or wrong join token
)

// GRPCServerOptions are the options of the scheduler's gRPC server: TLS
// credentials (client certificates required with a CAFile) and the join
// token check. Plain text, with no options, when c is the zero Config.
// log hears of every refusal; nil: slog.Default().
func GRPCServerOptions(c Config, log *slog.Logger) ([]grpc.ServerOption, error) {
	if err := c.ValidateServer(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	var opts []grpc.ServerOption
	tc, err := c.Server(true, "h2")
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, grpc.Creds(&countingCreds{TransportCredentials: credentials.NewTLS(tc), log: log}))
	}
	if c.JoinToken != "" {
		check := tokenChecker([]byte(c.JoinToken), log)
		opts = append(opts,
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				if err := check(ctx, info.FullMethod); err != nil {
					return nil, err
				}
				return h(ctx, req)
			}),
			grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				if err := check(ss.Context(), info.FullMethod); err != nil {
					return err
				}
				return h(srv, ss)
			}))
	}
	return opts, nil
}

// tokenChecker refuses a call without the token. The gRPC health service
// is exempt: probes carry no token.
func tokenChecker(token []byte, log *slog.Logger) func(ctx context.Context, method string) error {
	return func(ctx context.Context, method string) error {
		if strings.HasPrefix(method, "/grpc.health.v1.Health/") {
			return nil
		}
		md, _ := metadata.FromIncomingContext(ctx)
		for _, v := range md.Get(TokenHeader) {
			if subtle.ConstantTimeCompare([]byte(v), token) == 1 {
				return nil
			}
		}
		refused(log, ReasonToken, peerAddr(ctx), errors.New("missing or wrong join token"), "method", method)
		return status.Error(codes.Unauthenticated, "a valid join token is required")
	}
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

func refused(log *slog.Logger, reason, addr string, err error, args ...any) {
	metrics.SchedulerAuthRefused.WithLabelValues(reason).Inc()
	log.Warn("scheduler refused a connection", append([]any{"reason", reason, "peer", addr, "err", err}, args...)...)
}

// countingCreds counts and logs the handshakes the TLS credentials refuse:
// plain-text clients, clients without a certificate and clients whose
// certificate the CA did not issue never reach an interceptor.
type countingCreds struct {
	credentials.TransportCredentials
	log *slog.Logger
}

func (c *countingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		refused(c.log, HandshakeReason(err), conn.RemoteAddr().String(), err)
	}
	return out, info, err
}

func (c *countingCreds) Clone() credentials.TransportCredentials {
	return &countingCreds{TransportCredentials: c.TransportCredentials.Clone(), log: c.log}
}

// HandshakeReason classifies a failed server handshake.
func HandshakeReason(err error) string {
	var rec tls.RecordHeaderError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &rec):
		return ReasonPlaintext
	case errors.As(err, &verify):
		return ReasonBadCertificate
	case strings.Contains(err.Error(), "didn't provide a certificate"):
		return ReasonNoCertificate
	case strings.Contains(err.Error(), "bad certificate") || strings.Contains(err.Error(), "certificate"):
		return ReasonBadCertificate
	}
	return ReasonHandshake
}

// GRPCDialOptions are the options of a worker's or an edge's connections
// to the scheduler: TLS with the client certificate when ClientEnabled,
// plain text otherwise, and the join token on every call when set.
func GRPCDialOptions(c Config) ([]grpc.DialOption, error) {
	if err := c.ValidateClient(); err != nil {
		return nil, err
	}
	tc, err := c.Client()
	if err != nil {
		return nil, err
	}
	if tc == nil {
		return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, nil
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(tc))}
	if c.JoinToken != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(tokenCreds(c.JoinToken)))
	}
	return opts, nil
}

// tokenCreds sends the join token, and only over TLS.
type tokenCreds string

func (t tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{TokenHeader: string(t)}, nil
}

func (tokenCreds) RequireTransportSecurity() bool { return true }
