package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/flagenv"
)

// pki is a CA and certificates written to a folder, for tests.
type pki struct {
	dir string
	ca  *CA
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca, err := NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{dir: t.TempDir(), ca: ca}
	p.write(t, "ca.crt", ca.CertPEM)
	return p
}

func (p *pki) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	f := filepath.Join(p.dir, name)
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// issue writes name.crt and name.key and returns their paths.
func (p *pki) issue(t *testing.T, name string, usage Usage) (cert, key string) {
	t.Helper()
	c, k, err := p.ca.Issue(name, []string{name, "localhost", "127.0.0.1"}, usage, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".crt", c), p.write(t, name+".key", k)
}

func (p *pki) caFile() string { return filepath.Join(p.dir, "ca.crt") }

func TestConfig_Validate(t *testing.T) {
	p := newPKI(t)
	cert, key := p.issue(t, "scheduler", ServerAuth|ClientAuth)
	garbage := p.write(t, "garbage.pem", []byte("not a certificate"))
	token := strings.Repeat("t", MinTokenLength)
	for _, tc := range []struct {
		name           string
		c              Config
		want           string // substring of Validate's error; "" for none
		server, client string // of ValidateServer and ValidateClient
	}{
		{name: "default is plain text", c: DefaultConfig()},
		{name: "server pair", c: Config{CertFile: cert, KeyFile: key}},
		{name: "mutual", c: Config{CertFile: cert, KeyFile: key, CAFile: p.caFile(), JoinToken: token}},
		{name: "cert without key", c: Config{CertFile: cert}, want: "go together"},
		{name: "client key without cert", c: Config{ClientKeyFile: key}, want: "--tls-client-cert and --tls-client-key go together"},
		{name: "missing file", c: Config{CertFile: cert, KeyFile: filepath.Join(p.dir, "nope")}, want: "no such file"},
		{name: "key of another cert", c: Config{CertFile: cert, KeyFile: p.write(t, "other.key", mustKey(t, p))}, want: "does not match"},
		{name: "CA not PEM", c: Config{CAFile: garbage}, want: "no PEM certificate"},
		{name: "short token", c: Config{CertFile: cert, KeyFile: key, JoinToken: "short"}, want: "at least 16"},
		{name: "token in clear", c: Config{JoinToken: token}, server: "travel in clear", client: "only sent over TLS"},
		{name: "client CA without server cert", c: Config{CAFile: p.caFile()}, server: "needs --tls-cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error, want string) {
				t.Helper()
				switch {
				case want == "" && err != nil:
					t.Errorf("%s: %v", what, err)
				case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("%s: got %v, want an error with %q", what, err, want)
				}
			}
			check("Validate", tc.c.Validate(), tc.want)
			if tc.want == "" {
				check("ValidateServer", tc.c.ValidateServer(), tc.server)
				check("ValidateClient", tc.c.ValidateClient(), tc.client)
			}
		})
	}
}

func mustKey(t *testing.T, p *pki) []byte {
	_, k, err := p.ca.Issue("other", nil, ClientAuth, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRegister_FlagsAndEnvTwins(t *testing.T) {
	t.Setenv("STICKERD_TLS_CA", "/ca.crt")
	t.Setenv("STICKERD_JOIN_TOKEN", "from-the-environment")
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	Register(fs, &c, Serve|Dial|RequireClients|Token)
	if err := flagenv.Parse(fs, []string{"--tls-cert", "/a.crt", "--tls-key", "/a.key", "--tls-server-name", "scheduler"}); err != nil {
		t.Fatal(err)
	}
	want := Config{CertFile: "/a.crt", KeyFile: "/a.key", CAFile: "/ca.crt", ServerName: "scheduler", JoinToken: "from-the-environment"}
	if c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	fs = flag.NewFlagSet("gateway", flag.ContinueOnError)
	Register(fs, &c, Serve)
	for _, name := range []string{"join-token", "tls-client-cert"} {
		if fs.Lookup(name) != nil {
			t.Errorf("a Serve-only command has --%s", name)
		}
	}
}

func TestServerAndClient_Handshake(t *testing.T) {
	p := newPKI(t)
	sc, sk := p.issue(t, "scheduler", ServerAuth)
	wc, wk := p.issue(t, "worker", ClientAuth)
	other := newPKI(t)
	oc, ok := other.issue(t, "worker", ClientAuth)
	server := Config{CertFile: sc, KeyFile: sk, CAFile: p.caFile()}
	srv, err := server.Server(true)
	if err != nil {
		t.Fatal(err)
	}
	if srv.MinVersion != tls.VersionTLS12 || srv.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("server config: min version %x, client auth %v", srv.MinVersion, srv.ClientAuth)
	}
	if c, _ := (Config{CertFile: sc, KeyFile: sk, CAFile: p.caFile()}).Server(false); c.ClientAuth != tls.NoClientCert {
		t.Fatal("an HTTP server must not ask browsers for certificates")
	}
	if c, _ := DefaultConfig().Server(true); c != nil {
		t.Fatal("the default config serves TLS")
	}
	if c, _ := DefaultConfig().Client(); c != nil {
		t.Fatal("the default config dials TLS")
	}
	for _, tc := range []struct {
		name   string
		client Config
		reason string // "" when the handshake must succeed
	}{
		{"valid client certificate", Config{CAFile: p.caFile(), ClientCertFile: wc, ClientKeyFile: wk}, ""},
		{"tls-cert doubles as the client pair", Config{CAFile: p.caFile(), CertFile: wc, KeyFile: wk}, ""},
		{"no client certificate", Config{CAFile: p.caFile()}, ReasonNoCertificate},
		{"certificate of another CA", Config{CAFile: p.caFile(), ClientCertFile: oc, ClientKeyFile: ok}, ReasonBadCertificate},
		{"server certificate used as a client one", Config{CAFile: p.caFile(), ClientCertFile: sc, ClientKeyFile: sk}, ReasonBadCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli, err := tc.client.Client()
			if err != nil {
				t.Fatal(err)
			}
			serr := handshake(t, srv, cli)
			if tc.reason == "" {
				if serr != nil {
					t.Fatalf("handshake refused: %v", serr)
				}
				return
			}
			if serr == nil {
				t.Fatal("handshake accepted")
			}
			if got := HandshakeReason(serr); got != tc.reason {
				t.Fatalf("reason %q (%v), want %q", got, serr, tc.reason)
			}
		})
	}
	t.Run("plain text", func(t *testing.T) {
		serr := handshake(t, srv, nil)
		if serr == nil || HandshakeReason(serr) != ReasonPlaintext {
			t.Fatalf("got %v, want a plaintext refusal", serr)
		}
	})
	t.Run("server of another CA", func(t *testing.T) {
		cli, _ := Config{CAFile: other.caFile(), ClientCertFile: oc, ClientKeyFile: ok}.Client()
		ln := tls.NewListener(listen(t, srv), srv)
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		cli.ServerName = "localhost"
		conn, err := tls.Dial("tcp", ln.Addr().String(), cli)
		if err == nil {
			conn.Close()
			t.Fatal("a client trusted a server its CA did not issue")
		}
		var verr *tls.CertificateVerificationError
		if !errors.As(err, &verr) {
			t.Fatalf("got %v, want a verification error", err)
		}
	})
}

func listen(t *testing.T, srv *tls.Config) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// handshake runs a TLS handshake between srv and cli (nil: a plain-text
// client that writes an HTTP request) and returns the server's error.
func handshake(t *testing.T, srv, cli *tls.Config) error {
	t.Helper()
	ln := listen(t, srv)
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, srv)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		errc <- tc.Handshake()
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if cli == nil {
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	} else {
		cli = cli.Clone()
		cli.ServerName = "localhost"
		tc := tls.Client(conn, cli)
		if tc.Handshake() == nil {
			// TLS 1.3: the server judges the client's certificate after
			// the client has finished; read to let it answer.
			tc.Read(make([]byte, 1))
		}
	}
	return <-errc
}

func TestKeyPair_ReloadsChangedFiles(t *testing.T) {
	p := newPKI(t)
	cert, key := p.issue(t, "gateway", ServerAuth)
	old := reloadEvery
	reloadEvery = 0
	t.Cleanup(func() { reloadEvery = old })
	kp, err := newKeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := kp.get()
	c2, k2, err := p.ca.Issue("gateway", []string{"renewed"}, ServerAuth, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, "gateway.crt", c2)
	p.write(t, "gateway.key", k2)
	future := time.Now().Add(time.Minute)
	os.Chtimes(cert, future, future)
	os.Chtimes(key, future, future)
	second, _ := kp.get()
	leaf, err := x509.ParseCertificate(second.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if second == first || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "renewed" {
		t.Fatalf("the renewed certificate was not loaded: %v", leaf.DNSNames)
	}
	os.WriteFile(cert, []byte("half-written"), 0o600)
	later := future.Add(time.Minute)
	os.Chtimes(cert, later, later)
	if third, _ := kp.get(); third != second {
		t.Fatal("a file that does not load replaced the certificate")
	}
}
