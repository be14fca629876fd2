package etcd

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// MemberConfig configures one etcd member. Zero fields take the values of
// DefaultMemberConfig, so a test can set only what differs.
type MemberConfig struct {
	// Name is the member's name in the cluster, default "default".
	Name string
	// DataDir holds the member's WAL and database, default "./data/etcd".
	DataDir string
	// ClientURLs are the URLs clients reach the member at, default
	// ["http://127.0.0.1:2379"]. The member listens on them too unless
	// ListenClientURLs is set.
	ClientURLs []string
	// PeerURLs are the URLs the other members reach this one at, default
	// ["http://127.0.0.1:2380"]; listened on unless ListenPeerURLs is set.
	PeerURLs []string
	// ListenClientURLs and ListenPeerURLs, when set, are where the member
	// listens, while ClientURLs and PeerURLs are only advertised: a
	// container listens on 0.0.0.0 and advertises its host name.
	ListenClientURLs []string
	ListenPeerURLs   []string
	// InitialCluster names every member's peer URL,
	// "a=http://127.0.0.1:2380,b=...". Default: this member alone.
	InitialCluster string
	// InitialClusterState is "new" when bootstrapping a cluster and
	// "existing" when joining one. Ignored once the data dir holds a WAL.
	InitialClusterState string
	// ClusterToken keeps two clusters on one network apart, default "stickerd".
	ClusterToken string
	// LogLevel is the lowest level of etcd's own lines that are logged,
	// default "warn": etcd is very chatty at info.
	LogLevel string
	// Logger receives etcd's lines as slog records with component=etcd
	// (no stack traces); default slog.Default().
	Logger *slog.Logger `yaml:"-"`
	// StartTimeout bounds StartMember, default 60s.
	StartTimeout time.Duration
	// CertFile and KeyFile, when set, serve client and peer traffic over
	// TLS, and every URL must then be https://. With TrustedCAFile as
	// well, clients and peers must present a certificate that CA issued
	// (etcd's --client-cert-auth and --peer-client-cert-auth). The pair is
	// also the member's client certificate towards its peers, so it needs
	// both the serverAuth and the clientAuth usages.
	CertFile, KeyFile, TrustedCAFile string
	// InsecureListen lets a member without TLS listen on addresses other
	// than loopback, for a network that is trusted as a whole. Without it
	// such a member refuses to start: task state is never served in clear
	// off the machine by accident.
	InsecureListen bool
	// CompactionRetention is how much history the member keeps (etcd's
	// periodic auto-compaction), default an hour: enough for a watcher
	// that reconnects to resume from its last revision. Compaction frees
	// pages for reuse; the file shrinks only by a defragmentation.
	CompactionRetention time.Duration
	// QuotaBackendBytes is the database size at which the member raises
	// a NOSPACE alarm and refuses writes (etcd's --quota-backend-bytes),
	// default DefaultQuotaBackendBytes.
	QuotaBackendBytes int64
}

// DefaultQuotaBackendBytes is the embedded member's backend quota: 4 GiB,
// as the Compose deployment sets (etcd's own default is 2 GiB).
const DefaultQuotaBackendBytes = 4 << 30

// DefaultMemberConfig is a single member on the standard loopback ports.
func DefaultMemberConfig() MemberConfig {
	return MemberConfig{
		Name:                "default",
		DataDir:             "./data/etcd",
		ClientURLs:          []string{"http://127.0.0.1:2379"},
		PeerURLs:            []string{"http://127.0.0.1:2380"},
		InitialClusterState: embed.ClusterStateFlagNew,
		ClusterToken:        "stickerd",
		LogLevel:            "warn",
		StartTimeout:        60 * time.Second,
		CompactionRetention: time.Hour,
		QuotaBackendBytes:   DefaultQuotaBackendBytes,
	}
}

// withDefaults fills the zero fields from DefaultMemberConfig.
func (c MemberConfig) withDefaults() MemberConfig {
	d := DefaultMemberConfig()
	set := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	set(&c.Name, d.Name)
	set(&c.DataDir, d.DataDir)
	set(&c.InitialClusterState, d.InitialClusterState)
	set(&c.ClusterToken, d.ClusterToken)
	set(&c.LogLevel, d.LogLevel)
	if len(c.ClientURLs) == 0 {
		c.ClientURLs = d.ClientURLs
	}
	if len(c.PeerURLs) == 0 {
		c.PeerURLs = d.PeerURLs
	}
	if len(c.ListenClientURLs) == 0 {
		c.ListenClientURLs = c.ClientURLs
	}
	if len(c.ListenPeerURLs) == 0 {
		c.ListenPeerURLs = c.PeerURLs
	}
	if c.InitialCluster == "" {
		parts := make([]string, len(c.PeerURLs))
		for i, u := range c.PeerURLs {
			parts[i] = c.Name + "=" + u
		}
		c.InitialCluster = strings.Join(parts, ",")
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = d.StartTimeout
	}
	if c.CompactionRetention <= 0 {
		c.CompactionRetention = time.Hour
	}
	if c.QuotaBackendBytes <= 0 {
		c.QuotaBackendBytes = DefaultQuotaBackendBytes
	}
	return c
}

// Validate reports the first problem of the configuration, zero fields
// counting as their defaults.
func (c *MemberConfig) Validate() error {
	_, err := c.withDefaults().embedConfig(nil)
	return err
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// embedConfig translates a defaulted configuration into etcd's own, with
// logger as etcd's logger (nil: none, for Validate).
func (c MemberConfig) embedConfig(logger func(*embed.Config) error) (*embed.Config, error) {
	if strings.ContainsAny(c.Name, "=,") {
		return nil, invalid("name %q contains '=' or ','", c.Name)
	}
	if c.InitialClusterState != embed.ClusterStateFlagNew && c.InitialClusterState != embed.ClusterStateFlagExisting {
		return nil, invalid("initial_cluster_state %q is neither %q nor %q", c.InitialClusterState, embed.ClusterStateFlagNew, embed.ClusterStateFlagExisting)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error", "panic", "fatal":
	default:
		return nil, invalid("log_level %q is not one of debug, info, warn, error, panic, fatal", c.LogLevel)
	}
	if c.StartTimeout < 0 {
		return nil, invalid("start_timeout %s is negative", c.StartTimeout)
	}
	if !strings.Contains(","+c.InitialCluster, ","+c.Name+"=") {
		return nil, invalid("initial_cluster %q does not name this member %q", c.InitialCluster, c.Name)
	}
	ec := embed.NewConfig()
	ec.Name, ec.Dir = c.Name, c.DataDir
	var err error
	fields := []struct {
		name string
		in   []string
		out  *[]url.URL
	}{
		{"client_urls", c.ClientURLs, &ec.AdvertiseClientUrls},
		{"peer_urls", c.PeerURLs, &ec.AdvertisePeerUrls},
		{"listen_client_urls", c.ListenClientURLs, &ec.ListenClientUrls},
		{"listen_peer_urls", c.ListenPeerURLs, &ec.ListenPeerUrls},
	}
	secure := c.CertFile != "" || c.KeyFile != ""
	if secure && (c.CertFile == "" || c.KeyFile == "") {
		return nil, invalid("cert_file and key_file go together")
	}
	if c.TrustedCAFile != "" && !secure {
		return nil, invalid("trusted_ca_file needs cert_file and key_file")
	}
	for _, f := range fields {
		if *f.out, err = parseURLs(f.name, f.in, secure); err != nil {
			return nil, err
		}
	}
	if !secure && !c.InsecureListen {
		for _, u := range append(append([]url.URL(nil), ec.ListenClientUrls...), ec.ListenPeerUrls...) {
			if !loopbackHost(u.Hostname()) {
				return nil, invalid("%s listens off loopback without TLS: give cert_file and key_file (https:// URLs), or allow it on a trusted network (insecure_listen)", u.String())
			}
		}
	}
	if secure {
		info := transport.TLSInfo{CertFile: c.CertFile, KeyFile: c.KeyFile, TrustedCAFile: c.TrustedCAFile, ClientCertAuth: c.TrustedCAFile != ""}
		ec.ClientTLSInfo, ec.PeerTLSInfo = info, info
	}
	ec.InitialCluster = c.InitialCluster
	ec.ClusterState = c.InitialClusterState
	ec.InitialClusterToken = c.ClusterToken
	ec.Logger, ec.LogLevel, ec.LogOutputs = "zap", c.LogLevel, []string{embed.StdErrLogOutput}
	// Validate logs etcd's advice, which StartEtcd logs again: validate
	// silently, then hand over the logger.
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// embed.NewConfig leaves this at 0, which makes every request a slow one
	// that etcd warns about; etcd's own command line defaults to 300ms.
	ec.WarningUnaryRequestDuration = embed.DefaultWarningUnaryRequestDuration
	// Keep an hour of history (CompactionRetention): enough for a watcher
	// that reconnects to resume from its last revision, bounded so the
	// database does not grow with every progress update forever. Under a
	// steady load the database then holds the live records plus that much
	// history, and the quota stops a runaway before the disk fills.
	ec.AutoCompactionMode, ec.AutoCompactionRetention = embed.CompactorModePeriodic, c.CompactionRetention.String()
	ec.QuotaBackendBytes = c.QuotaBackendBytes
	if err := ec.Validate(); err != nil {
		return nil, invalid("%v", err)
	}
	if logger != nil {
		ec.ZapLoggerBuilder = logger
	}
	return ec, nil
}

// loopbackHost reports whether a listen URL's host is loopback only.
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// clientTLS is the TLS configuration of a client of this member: its own
// pair (it has the clientAuth usage) and CA; nil without TLS.
func (c MemberConfig) clientTLS() (*tls.Config, error) {
	if c.CertFile == "" {
		return nil, nil
	}
	return transport.TLSInfo{CertFile: c.CertFile, KeyFile: c.KeyFile, TrustedCAFile: c.TrustedCAFile}.ClientConfig()
}

func parseURLs(field string, in []string, secure bool) ([]url.URL, error) {
	out := make([]url.URL, 0, len(in))
	scheme, why := "http", "TLS is not configured"
	if secure {
		scheme, why = "https", "TLS is configured"
	}
	for _, s := range in {
		u, err := url.Parse(s)
		if err != nil {
			return nil, invalid("%s: %v", field, err)
		}
		if u.Scheme != scheme || u.Host == "" || u.Port() == "" {
			return nil, invalid("%s: %q is not %s://host:port (%s)", field, s, scheme, why)
		}
		out = append(out, *u)
	}
	return out, nil
}
