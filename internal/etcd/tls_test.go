package etcd_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/tlsconf"
)

// writePair issues a certificate for name from ca into dir.
func writePair(t *testing.T, dir string, ca *tlsconf.CA, name string, usage tlsconf.Usage) (cert, key string) {
	t.Helper()
	c, k, err := ca.Issue(name, []string{"localhost", "127.0.0.1"}, usage, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(cert, c, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestMember_TLSRequiresClientCertificates starts a member with TLS and
// client certificate authentication: a client with a certificate of the
// CA reads and writes; one without a certificate, one with a certificate
// of another CA and one in plain text are refused.
func TestMember_TLSRequiresClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, err := tlsconf.NewCA("etcd CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.crt")
	os.WriteFile(caFile, ca.CertPEM, 0o600)
	mc, mk := writePair(t, dir, ca, "etcd", tlsconf.ServerAuth|tlsconf.ClientAuth)
	gc, gk := writePair(t, dir, ca, "gateway", tlsconf.ClientAuth)
	other, _ := tlsconf.NewCA("other", time.Hour)
	oc, ok := writePair(t, t.TempDir(), other, "gateway", tlsconf.ClientAuth)

	cfg := singleConfig(t)
	for i := range cfg.ClientURLs {
		cfg.ClientURLs[i] = strings.Replace(cfg.ClientURLs[i], "http://", "https://", 1)
		cfg.PeerURLs[i] = strings.Replace(cfg.PeerURLs[i], "http://", "https://", 1)
	}
	cfg.CertFile, cfg.KeyFile, cfg.TrustedCAFile = mc, mk, caFile
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := etcd.StartMember(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	dial := func(c tlsconf.Config, endpoints []string) error {
		tc, err := c.Client()
		if err != nil {
			t.Fatal(err)
		}
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		cli, err := etcd.DialConfig(dctx, etcd.ClientConfig{Endpoints: endpoints, TLS: tc})
		if err != nil {
			return err
		}
		defer cli.Close()
		_, err = cli.Put(dctx, "/tls", "ok")
		return err
	}
	if err := dial(tlsconf.Config{CAFile: caFile, ClientCertFile: gc, ClientKeyFile: gk}, m.Endpoints()); err != nil {
		t.Fatalf("a client with a valid certificate: %v", err)
	}
	if cli, err := m.Client(ctx); err != nil {
		t.Fatalf("the member's own client: %v", err)
	} else {
		cli.Close()
	}
	for name, c := range map[string]tlsconf.Config{
		"no certificate":          {CAFile: caFile},
		"certificate of other CA": {CAFile: caFile, ClientCertFile: oc, ClientKeyFile: ok},
	} {
		if err := dial(c, m.Endpoints()); err == nil {
			t.Errorf("%s: the member answered", name)
		}
	}
	plain := strings.Replace(m.Endpoints()[0], "https://", "http://", 1)
	if err := dial(tlsconf.Config{}, []string{plain}); !errors.Is(err, etcd.ErrUnreachable) {
		t.Errorf("plain text: got %v, want ErrUnreachable", err)
	}
	if _, err := etcd.DialConfig(ctx, etcd.ClientConfig{Endpoints: []string{m.Endpoints()[0], plain}}); !errors.Is(err, etcd.ErrInvalidConfig) {
		t.Errorf("mixed schemes: got %v", err)
	}
}
