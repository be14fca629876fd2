package tlsconf

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/proto/workerpb"
)

type unimplemented struct {
	workerpb.UnimplementedSchedulerServer
}

// TestGRPC_RefusesUnauthenticatedClients serves the scheduler's service
// with mutual TLS and a join token, and calls it as clients with and
// without each: only the client with both reaches the handler (here
// Unimplemented), and each refusal is counted under its reason.
func TestGRPC_RefusesUnauthenticatedClients(t *testing.T) {
	p := newPKI(t)
	sc, sk := p.issue(t, "scheduler", ServerAuth|ClientAuth)
	wc, wk := p.issue(t, "worker", ClientAuth)
	other := newPKI(t)
	oc, ok := other.issue(t, "worker", ClientAuth)
	token := "0123456789abcdef-join"
	opts, err := GRPCServerOptions(Config{CertFile: sc, KeyFile: sk, CAFile: p.caFile(), JoinToken: token}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	workerpb.RegisterSchedulerServer(srv, unimplemented{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	addr := "localhost:" + port // the name in the certificate
	for _, tc := range []struct {
		name   string
		client Config
		plain  bool
		code   codes.Code
		reason string
	}{
		{name: "certificate and token", client: Config{CAFile: p.caFile(), CertFile: wc, KeyFile: wk, JoinToken: token}, code: codes.Unimplemented},
		{name: "certificate, no token", client: Config{CAFile: p.caFile(), CertFile: wc, KeyFile: wk}, code: codes.Unauthenticated, reason: ReasonToken},
		{name: "certificate, wrong token", client: Config{CAFile: p.caFile(), CertFile: wc, KeyFile: wk, JoinToken: token + "x"}, code: codes.Unauthenticated, reason: ReasonToken},
		{name: "token, no certificate", client: Config{CAFile: p.caFile(), JoinToken: token}, code: codes.Unavailable, reason: ReasonNoCertificate},
		{name: "certificate of another CA", client: Config{CAFile: p.caFile(), CertFile: oc, KeyFile: ok, JoinToken: token}, code: codes.Unavailable, reason: ReasonBadCertificate},
		{name: "plain text", plain: true, code: codes.Unavailable, reason: ReasonPlaintext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
			if !tc.plain {
				if dial, err = GRPCDialOptions(tc.client); err != nil {
					t.Fatal(err)
				}
			}
			var before float64
			if tc.reason != "" {
				before = testutil.ToFloat64(metrics.SchedulerAuthRefused.WithLabelValues(tc.reason))
			}
			conn, err := grpc.NewClient(addr, dial...)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = workerpb.NewSchedulerClient(conn).ReportEdge(ctx, &workerpb.EdgeReport{EdgeId: "e"})
			if got := status.Code(err); got != tc.code {
				t.Fatalf("code %v (%v), want %v", got, err, tc.code)
			}
			if tc.reason == "" {
				return
			}
			// The server counts a refused handshake after the client has
			// given up on it: wait a moment.
			for end := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if testutil.ToFloat64(metrics.SchedulerAuthRefused.WithLabelValues(tc.reason)) > before {
					break
				}
				if time.Now().After(end) {
					t.Fatalf("refusal not counted under %q", tc.reason)
				}
			}
		})
	}
}

func TestGRPCDialOptions_TokenNeedsTLS(t *testing.T) {
	if _, err := GRPCDialOptions(Config{JoinToken: strings.Repeat("x", 20)}); err == nil {
		t.Fatal("a join token would be sent in clear")
	}
	opts, err := GRPCDialOptions(DefaultConfig())
	if err != nil || len(opts) != 1 {
		t.Fatalf("plain text: %v, %d options", err, len(opts))
	}
}
