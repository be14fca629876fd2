package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/tlsconf"
)

func runCertsCmd(t *testing.T, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if code := run(context.Background(), append([]string{"certs"}, args...), log, io.Discard, &stderr); code != 0 {
		t.Fatalf("stickerd certs %v: exit %d: %s", args, code, stderr.String())
	}
}

func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCerts_IssueVerifyHandshake runs `stickerd certs`: every certificate
// verifies against the CA for its usages and names the compose service,
// localhost and 127.0.0.1; keys are 0600; the scheduler's and a worker's
// certificates complete a mutual TLS handshake; a second run keeps the
// files and --force issues them again under the same CA.
func TestCerts_IssueVerifyHandshake(t *testing.T) {
	dir := t.TempDir()
	runCertsCmd(t, "--out", dir, "--hosts", "extra.example,scheduler=sched.internal,10.1.2.3")
	ca := readCert(t, filepath.Join(dir, "ca.crt"))
	if !ca.IsCA {
		t.Fatal("ca.crt is not a CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, s := range certServices {
		t.Run(s.name, func(t *testing.T) {
			c := readCert(t, filepath.Join(dir, s.name+".crt"))
			for _, u := range []struct {
				usage tlsconf.Usage
				eku   x509.ExtKeyUsage
			}{{tlsconf.ServerAuth, x509.ExtKeyUsageServerAuth}, {tlsconf.ClientAuth, x509.ExtKeyUsageClientAuth}} {
				_, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{u.eku}, DNSName: s.name})
				if want := s.usage&u.usage != 0; want != (err == nil) {
					t.Errorf("usage %v: verify = %v, want ok %v", u.eku, err, want)
				}
			}
			if c.PublicKeyAlgorithm != x509.ECDSA {
				t.Errorf("key %v, want ECDSA", c.PublicKeyAlgorithm)
			}
			for _, name := range append([]string{s.name, "localhost", "extra.example"}, s.hosts...) {
				if !slices.Contains(c.DNSNames, name) {
					t.Errorf("no DNS name %s in %v", name, c.DNSNames)
				}
			}
			if err := c.VerifyHostname("127.0.0.1"); err != nil {
				t.Error(err)
			}
			if err := c.VerifyHostname("10.1.2.3"); err != nil {
				t.Error(err)
			}
			if got := slices.Contains(c.DNSNames, "sched.internal"); got != (s.name == "scheduler") {
				t.Errorf("sched.internal in %s: %v", s.name, got)
			}
			st, err := os.Stat(filepath.Join(dir, s.name+".key"))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("key mode %v, %v; want 0600", st.Mode().Perm(), err)
			}
		})
	}
	if st, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key: %v %v", st, err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "kafka.pem"), filepath.Join(dir, "kafka.pem")); err != nil {
		t.Errorf("kafka.pem is not a key and its certificate: %v", err)
	}

	// A real mutual TLS handshake: scheduler serves, worker dials.
	srv, err := tlsconf.Config{CertFile: filepath.Join(dir, "scheduler.crt"), KeyFile: filepath.Join(dir, "scheduler.key"),
		CAFile: filepath.Join(dir, "ca.crt")}.Server(true)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := tlsconf.Config{CertFile: filepath.Join(dir, "worker.crt"), KeyFile: filepath.Join(dir, "worker.key"),
		CAFile: filepath.Join(dir, "ca.crt"), ServerName: "scheduler-1"}.Client()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			peer <- err.Error()
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			peer <- err.Error()
			return
		}
		peer <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
		io.Copy(io.Discard, tc)
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cli)
	if err != nil {
		t.Fatalf("worker → scheduler handshake: %v", err)
	}
	conn.Write([]byte("x"))
	if got := <-peer; got != "worker" {
		t.Fatalf("the scheduler saw %q, want the worker's certificate", got)
	}
	conn.Close()

	before, _ := os.ReadFile(filepath.Join(dir, "gateway.crt"))
	caBefore, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	runCertsCmd(t, "--out", dir)
	if after, _ := os.ReadFile(filepath.Join(dir, "gateway.crt")); !bytes.Equal(before, after) {
		t.Error("a second run replaced a valid certificate")
	}
	runCertsCmd(t, "--out", dir, "--force", "--services", "gateway")
	if after, _ := os.ReadFile(filepath.Join(dir, "gateway.crt")); bytes.Equal(before, after) {
		t.Error("--force kept the certificate")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "ca.crt")); !bytes.Equal(caBefore, after) {
		t.Error("--force replaced the CA")
	}
	if _, err := readCert(t, filepath.Join(dir, "gateway.crt")).Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		t.Errorf("the reissued certificate: %v", err)
	}
}

func TestCerts_UsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--services", "gateway,mailer"},
		{"--hosts", "mailer=x"},
		{"--chown", "root"},
	} {
		var stderr bytes.Buffer
		log := slog.New(slog.NewJSONHandler(io.Discard, nil))
		if code := run(context.Background(), append([]string{"certs", "--out", t.TempDir()}, args...), log, io.Discard, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}
