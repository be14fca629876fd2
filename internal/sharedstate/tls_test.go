package sharedstate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/tlsconf"
)

// TestRedis_TLSWithClusterCA runs redis-server with TLS only (a
// certificate of a private CA, client certificates required): a rediss://
// URL with RedisTLS holding that CA and a client certificate connects;
// without RedisTLS (the system roots) or over redis:// it does not.
func TestRedis_TLSWithClusterCA(t *testing.T) {
	needRedis(t)
	dir := t.TempDir()
	ca, err := tlsconf.NewCA("redis CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	caFile := write("ca.crt", ca.CertPEM)
	sc, sk, err := ca.Issue("redis", []string{"127.0.0.1"}, tlsconf.ServerAuth, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cc, ck, err := ca.Issue("gateway", nil, tlsconf.ClientAuth, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("redis-server", "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--tls-cert-file", write("redis.crt", sc), "--tls-key-file", write("redis.key", sk), "--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "yes", "--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	pair, err := tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	open := func(url string, tc *tls.Config) error {
		cfg := DefaultConfig()
		cfg.RedisURL, cfg.RedisTLS = url, tc
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := NewRedis(ctx, cfg)
		if err == nil {
			s.Close()
		}
		return err
	}
	secure := fmt.Sprintf("rediss://127.0.0.1:%d/0", port)
	good := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	var err2 error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if err2 = open(secure, good); err2 == nil {
			break
		}
	}
	if err2 != nil {
		t.Fatalf("rediss:// with the cluster CA: %v", err2)
	}
	if err := open(secure, nil); err == nil {
		t.Error("rediss:// trusted a private CA without RedisTLS")
	}
	if err := open(secure, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}); err == nil {
		t.Error("redis-server took a client without a certificate")
	}
	if err := open(fmt.Sprintf("redis://127.0.0.1:%d/0", port), good); err == nil {
		t.Error("plain redis:// talked to a TLS port")
	}
}
