package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

// MinTokenLength is the shortest join token accepted: a token is a shared
// secret, and a short one can be guessed.
const MinTokenLength = 16

// Config is one process's TLS settings. Start from DefaultConfig (plain
// text); file fields name PEM files.
type Config struct {
	// CertFile and KeyFile are this process's certificate and key: served
	// by its listeners, and presented to the servers it dials when
	// ClientCertFile is empty.
	CertFile, KeyFile string
	// CAFile is a bundle of CA certificates. Clients verify the servers
	// they dial against it (instead of the system roots); a scheduler
	// requires and verifies its clients' certificates with it.
	CAFile string
	// ClientCertFile and ClientKeyFile, when set, are presented to the
	// servers this process dials instead of CertFile and KeyFile.
	ClientCertFile, ClientKeyFile string
	// ServerName is the name the servers this process dials must have in
	// their certificates; empty: the host dialed. Set it when the address
	// dialed is not in the certificate (a scheduler's pod IP).
	ServerName string
	// JoinToken is a shared secret that workers and edges send to the
	// scheduler, and that the scheduler requires: the alternative, or
	// addition, to client certificates. It is only sent over TLS.
	JoinToken string
}

// DefaultConfig is plain text: no certificates, no token.
func DefaultConfig() Config { return Config{} }

// Which selects the flags Register adds.
type Which uint8

const (
	// Serve: --tls-cert and --tls-key serve TLS (and are presented when
	// dialing without a client pair).
	Serve Which = 1 << iota
	// Dial: --tls-ca verifies servers, --tls-client-cert and
	// --tls-client-key, --tls-server-name.
	Dial
	// RequireClients: --tls-ca also requires client certificates
	// (the scheduler).
	RequireClients
	// Token: --join-token.
	Token
)

// Register adds the flags of c to fs; their environment twins come with
// internal/flagenv as for every flag.
func Register(fs *flag.FlagSet, c *Config, w Which) {
	if w&(Serve|Dial) != 0 {
		use := "certificate (PEM) this process presents to the servers it dials"
		if w&Serve != 0 {
			use = "certificate (PEM) served by this process's listeners (TLS on); also presented to the servers it dials unless --tls-client-cert is set"
		}
		fs.StringVar(&c.CertFile, "tls-cert", c.CertFile, use)
		fs.StringVar(&c.KeyFile, "tls-key", c.KeyFile, "private key (PEM) of --tls-cert")
	}
	ca := "CA bundle (PEM) that verifies the servers this process dials (default: the system roots)"
	if w&RequireClients != 0 {
		ca = "CA bundle (PEM): workers and edges must present a certificate it issued (mutual TLS); also verifies the servers this process dials"
	}
	fs.StringVar(&c.CAFile, "tls-ca", c.CAFile, ca)
	if w&Dial != 0 {
		fs.StringVar(&c.ClientCertFile, "tls-client-cert", c.ClientCertFile, "client certificate (PEM) presented to the servers this process dials (default: --tls-cert)")
		fs.StringVar(&c.ClientKeyFile, "tls-client-key", c.ClientKeyFile, "private key (PEM) of --tls-client-cert")
		fs.StringVar(&c.ServerName, "tls-server-name", c.ServerName, "name the dialed servers' certificates must carry (default: the host dialed)")
	}
	if w&Token != 0 {
		use := "shared secret workers and edges send to the scheduler (over TLS only)"
		if w&RequireClients != 0 {
			use = "shared secret every worker and edge must send (refused without it); needs --tls-cert"
		}
		fs.StringVar(&c.JoinToken, "join-token", c.JoinToken, use)
	}
}

// ServerEnabled reports whether listeners serve TLS.
func (c Config) ServerEnabled() bool { return c.CertFile != "" }

// ClientEnabled reports whether connections this process dials use TLS:
// it was given a CA to verify servers with, or a certificate to present.
func (c Config) ClientEnabled() bool {
	return c.CAFile != "" || c.ClientCertFile != "" || c.CertFile != ""
}

// clientPair is the certificate and key presented when dialing.
func (c Config) clientPair() (cert, key string) {
	if c.ClientCertFile != "" {
		return c.ClientCertFile, c.ClientKeyFile
	}
	return c.CertFile, c.KeyFile
}

// Validate reports settings that cannot work: half a key pair, files that
// do not load, a short join token.
func (c Config) Validate() error {
	var errs []error
	pair := func(certFlag, cert, keyFlag, key string) {
		switch {
		case cert == "" && key == "":
		case cert == "" || key == "":
			errs = append(errs, fmt.Errorf("tls: --%s and --%s go together", certFlag, keyFlag))
		default:
			if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
				errs = append(errs, fmt.Errorf("tls: --%s %s, --%s %s: %w", certFlag, cert, keyFlag, key, err))
			}
		}
	}
	pair("tls-cert", c.CertFile, "tls-key", c.KeyFile)
	pair("tls-client-cert", c.ClientCertFile, "tls-client-key", c.ClientKeyFile)
	if c.CAFile != "" {
		if _, err := loadPool(c.CAFile); err != nil {
			errs = append(errs, err)
		}
	}
	if c.JoinToken != "" && len(c.JoinToken) < MinTokenLength {
		errs = append(errs, fmt.Errorf("tls: --join-token is %d characters; want at least %d", len(c.JoinToken), MinTokenLength))
	}
	return errors.Join(errs...)
}

// ValidateServer is Validate plus what a TLS server needs: a join token is
// only accepted over TLS, and a CA that requires client certificates needs
// a certificate to serve.
func (c Config) ValidateServer() error {
	err := c.Validate()
	if c.JoinToken != "" && !c.ServerEnabled() {
		err = errors.Join(err, errors.New("tls: --join-token needs --tls-cert and --tls-key: the token would travel in clear"))
	}
	if c.CAFile != "" && !c.ServerEnabled() {
		err = errors.Join(err, errors.New("tls: --tls-ca requires client certificates, which needs --tls-cert and --tls-key"))
	}
	return err
}

// ValidateClient is Validate plus what a client needs: a join token is
// only sent over TLS.
func (c Config) ValidateClient() error {
	err := c.Validate()
	if c.JoinToken != "" && !c.ClientEnabled() {
		err = errors.Join(err, errors.New("tls: --join-token is only sent over TLS: give --tls-ca (the CA of the scheduler's certificate)"))
	}
	return err
}

func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls: --tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls: --tls-ca %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// Server returns the TLS configuration of a listener, or nil when
// ServerEnabled is false. With requireClients and a CAFile, clients must
// present a certificate that CA issued for client authentication.
// nextProtos are the ALPN protocols (HTTP: "h2", "http/1.1").
func (c Config) Server(requireClients bool, nextProtos ...string) (*tls.Config, error) {
	if !c.ServerEnabled() {
		return nil, nil
	}
	kp, err := newKeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() },
		NextProtos:     nextProtos,
	}
	if requireClients && c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// Client returns the TLS configuration of outgoing connections, or nil
// when ClientEnabled is false.
func (c Config) Client() (*tls.Config, error) {
	if !c.ClientEnabled() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if cert, key := c.clientPair(); cert != "" {
		kp, err := newKeyPair(cert, key)
		if err != nil {
			return nil, err
		}
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get() }
	}
	return tc, nil
}

// reloadEvery bounds how often a key pair's files are checked for changes.
var reloadEvery = 5 * time.Second

// keyPair is a certificate read again when its files change.
type keyPair struct {
	cert, key string
	mu        sync.Mutex
	tc        *tls.Certificate
	mod       [2]time.Time
	checked   time.Time
}

func newKeyPair(cert, key string) (*keyPair, error) {
	kp := &keyPair{cert: cert, key: key}
	if err := kp.load(); err != nil {
		return nil, err
	}
	return kp, nil
}

func (k *keyPair) modTimes() [2]time.Time {
	var m [2]time.Time
	for i, f := range []string{k.cert, k.key} {
		if st, err := os.Stat(f); err == nil {
			m[i] = st.ModTime()
		}
	}
	return m
}

func (k *keyPair) load() error {
	mod := k.modTimes()
	tc, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		return fmt.Errorf("tls: %s, %s: %w", k.cert, k.key, err)
	}
	k.tc, k.mod, k.checked = &tc, mod, time.Now()
	return nil
}

// get returns the certificate, reloaded when its files changed; a reload
// that fails (a half-written file) keeps the one loaded before.
func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if time.Since(k.checked) >= reloadEvery {
		k.checked = time.Now()
		if k.modTimes() != k.mod {
			_ = k.load()
		}
	}
	return k.tc, nil
}
