package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/stickerd/stickerd/internal/tlsconf"
)

func TestConfig_ValidateSASL(t *testing.T) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"none", func(*Config) {}, ""},
		{"scram-sha-512 by default", func(c *Config) { c.SASLUser, c.SASLPassword = "u", "p" }, ""},
		{"scram-sha-256", func(c *Config) { c.SASLUser, c.SASLPassword, c.SASLMechanism = "u", "p", ScramSHA256 }, ""},
		{"plain over tls", func(c *Config) { c.SASLUser, c.SASLPassword, c.SASLMechanism, c.TLS = "u", "p", Plain, tc }, ""},
		{"plain in clear", func(c *Config) { c.SASLUser, c.SASLPassword, c.SASLMechanism = "u", "p", Plain }, "in clear"},
		{"user without password", func(c *Config) { c.SASLUser = "u" }, "both"},
		{"mechanism without user", func(c *Config) { c.SASLMechanism = ScramSHA512 }, "without a user"},
		{"unknown mechanism", func(c *Config) { c.SASLUser, c.SASLPassword, c.SASLMechanism = "u", "p", "GSSAPI" }, "is not"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig("127.0.0.1:9092")
			c.edit(&cfg)
			err := cfg.Validate()
			if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("Validate() = %v, want %q", err, c.want)
			}
		})
	}
}

// TestProducerConsumer_TLSAndSCRAM runs a broker that takes TLS and
// SASL/SCRAM-SHA-512 only: a producer and a consumer with the CA and the
// credentials exchange a message; a plain-text client and a client with a
// wrong password do not get one through.
func TestProducerConsumer_TLSAndSCRAM(t *testing.T) {
	ca, err := tlsconf.NewCA("kafka CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue("kafka", []string{"127.0.0.1", "localhost"}, tlsconf.ServerAuth, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0),
		kfake.SeedTopics(1, TopicEvents),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser(ScramSHA512, "stickerd", "s3cret-password"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addr := cluster.ListenAddrs()[0]
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	secure := func() Config {
		cfg := testConfig(addr)
		cfg.TLS = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		cfg.SASLUser, cfg.SASLPassword = "stickerd", "s3cret-password"
		return cfg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := newProducer(t, secure())
	if err := p.Publish(ctx, TopicEvents, []byte("k"), []byte("over tls")); err != nil {
		t.Fatalf("publish over TLS and SCRAM: %v", err)
	}
	c, err := NewConsumer(secure(), uniqueGroup(t), TopicEvents)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	rctx, stop := context.WithCancel(ctx)
	go c.Run(rctx, func(_ context.Context, m Message) error {
		select {
		case got <- string(m.Value):
		default:
		}
		return nil
	})
	select {
	case v := <-got:
		if v != "over tls" {
			t.Fatalf("consumed %q", v)
		}
	case <-ctx.Done():
		t.Fatal("nothing consumed over TLS and SCRAM")
	}
	stop()
	c.Close()

	for name, edit := range map[string]func(*Config){
		"plain text":     func(c *Config) { c.TLS = nil },
		"wrong password": func(c *Config) { c.SASLPassword = "guess" },
		"no sasl":        func(c *Config) { c.SASLUser, c.SASLPassword = "", "" },
	} {
		cfg := secure()
		edit(&cfg)
		cfg.WriteTimeout = time.Second
		bad, err := NewProducer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if err := bad.Publish(pctx, TopicEvents, []byte("k"), []byte(name)); err == nil {
			t.Errorf("%s: the broker took a message", name)
		}
		cancel()
		bad.Close()
	}
}
