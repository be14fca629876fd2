package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/services/assets"
)

// DefaultTenant is the tenant of keyless requests to a loopback-only
// gateway without API keys (the `stickerd dev` default).
const DefaultTenant = "default"

// ErrInvalidConfig is returned by Validate and LoadAPIKeys.
var ErrInvalidConfig = errors.New("gateway: invalid config")

// Config tunes the gateway. It does not say where to listen: the caller
// owns the listener and sets Loopback when it is loopback-only.
type Config struct {
	// MaxUploadBytes bounds one POST /v1/assets upload.
	MaxUploadBytes int64
	// MaxSpecBytes bounds a POST /v1/renders body (at most spec.MaxSpecBytes).
	MaxSpecBytes int64
	// MaxBatchBytes bounds a POST /v1/batches body, JSON or CSV.
	MaxBatchBytes int64
	// APIKeys maps each API key to its tenant (see LoadAPIKeys).
	APIKeys map[string]string
	// Loopback is set when the listener accepts loopback connections only:
	// with no APIKeys, requests without a key are then DefaultTenant's.
	Loopback bool
	// AllowedHosts are Host names, besides localhost, 127.0.0.0/8 and
	// [::1], that a loopback gateway without APIKeys answers (a name in
	// /etc/hosts, a tunnel's). Any other Host is refused, against DNS
	// rebinding; see localguard.go.
	AllowedHosts []string
	// QueueDepthLimit: submissions are refused with 503 while the queue
	// holds this many jobs (counting this gateway's recent admissions the
	// depth signal may not show yet; see QueueSignalLag).
	QueueDepthLimit int
	// QueueSignalLag is how long after an admission the depth signal may
	// still not count it (the leader publishes the depth every 250 ms and
	// a gateway keeps a reading as long; the scheduler's intake adds its
	// own lag). Each admission counts on top of the signal for this long,
	// less what the queue drained meanwhile. 0 trusts the signal alone.
	QueueSignalLag time.Duration
	// AllowPrivateURLs accepts spec URLs that resolve to loopback, private,
	// link-local or metadata addresses.
	AllowPrivateURLs bool
	// ResultCacheTTL is how long a finished render answers identical requests.
	ResultCacheTTL time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is remembered: in etcd,
	// next to the job it made, under a lease (at least this long, at most
	// a sixtieth of it, capped at a minute, longer), so every gateway
	// honours it with or without Redis and across crashes.
	IdempotencyTTL time.Duration
	// StoreTimeout bounds one state-store call of a request, so that an
	// etcd outage answers 503 promptly.
	StoreTimeout time.Duration
	// HeartbeatInterval spaces the comment lines that keep an idle event
	// stream open through proxies.
	HeartbeatInterval time.Duration
	// StoreRetryAfter and QueueRetryAfter are the Retry-After of 503s; a
	// full queue's is when its backlog will have drained at the rate it
	// drains, at most QueueRetryAfter (which it is while that rate is
	// unknown).
	StoreRetryAfter, QueueRetryAfter time.Duration
	// SignedURLTTL is how long the output.signed_url of a job view stays
	// valid, counted from when the view is read (signed.go).
	SignedURLTTL time.Duration
	// URLSigningKey signs those links (HMAC-SHA256); every gateway that
	// should honour another's links needs the same key. Empty: a random
	// key per start, with a warning (links then die on restart).
	URLSigningKey []byte
	// PublicURL, when set (https://cdn.example.com), makes signed links
	// absolute; without it they are paths.
	PublicURL string
}

// MinURLSigningKeyBytes is the shortest URLSigningKey accepted.
const MinURLSigningKeyBytes = 32

// DefaultConfig returns the defaults: 512 MiB uploads, 1 MiB specs, a
// 10000-job queue limit, day-long cache and idempotency entries.
func DefaultConfig() Config {
	return Config{
		MaxUploadBytes:    512 << 20,
		MaxSpecBytes:      spec.MaxSpecBytes,
		MaxBatchBytes:     32 << 20,
		QueueDepthLimit:   10000,
		QueueSignalLag:    500 * time.Millisecond,
		ResultCacheTTL:    24 * time.Hour,
		IdempotencyTTL:    24 * time.Hour,
		StoreTimeout:      5 * time.Second,
		HeartbeatInterval: 15 * time.Second,
		StoreRetryAfter:   2 * time.Second,
		QueueRetryAfter:   5 * time.Second,
		SignedURLTTL:      24 * time.Hour,
	}
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.MaxUploadBytes <= 0:
		return fmt.Errorf("%w: MaxUploadBytes must be positive", ErrInvalidConfig)
	case c.MaxSpecBytes <= 0 || c.MaxSpecBytes > spec.MaxSpecBytes:
		return fmt.Errorf("%w: MaxSpecBytes must be in 1..%d", ErrInvalidConfig, spec.MaxSpecBytes)
	case c.MaxBatchBytes <= 0:
		return fmt.Errorf("%w: MaxBatchBytes must be positive", ErrInvalidConfig)
	case c.QueueDepthLimit <= 0:
		return fmt.Errorf("%w: QueueDepthLimit must be positive", ErrInvalidConfig)
	case c.QueueSignalLag < 0:
		return fmt.Errorf("%w: QueueSignalLag cannot be negative", ErrInvalidConfig)
	case c.ResultCacheTTL <= 0 || c.IdempotencyTTL <= 0:
		return fmt.Errorf("%w: ResultCacheTTL and IdempotencyTTL must be positive", ErrInvalidConfig)
	case c.StoreTimeout <= 0 || c.HeartbeatInterval <= 0:
		return fmt.Errorf("%w: StoreTimeout and HeartbeatInterval must be positive", ErrInvalidConfig)
	case c.StoreRetryAfter < time.Second || c.QueueRetryAfter < time.Second:
		return fmt.Errorf("%w: StoreRetryAfter and QueueRetryAfter must be at least a second", ErrInvalidConfig)
	case c.SignedURLTTL < time.Second:
		return fmt.Errorf("%w: SignedURLTTL must be at least a second", ErrInvalidConfig)
	case len(c.URLSigningKey) > 0 && len(c.URLSigningKey) < MinURLSigningKeyBytes:
		return fmt.Errorf("%w: URLSigningKey must be at least %d bytes", ErrInvalidConfig, MinURLSigningKeyBytes)
	}
	if err := checkPublicURL(c.PublicURL); err != nil {
		return err
	}
	for key, tenant := range c.APIKeys {
		if err := checkKey(key); err != nil {
			return err
		}
		if err := assets.CheckTenant(tenant); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	return nil
}

// checkPublicURL: empty, or an absolute http(s) URL with a host and no
// query or fragment (a path prefix is allowed).
func checkPublicURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%w: PublicURL must be http(s)://HOST[:PORT][/PATH], not %q", ErrInvalidConfig, s)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" || strings.ContainsAny(key, " \t\r\n") {
		return fmt.Errorf("%w: an API key must be non-empty and without spaces", ErrInvalidConfig)
	}
	return nil
}

// LoadAPIKeys reads a file of "tenant:key" lines (the --api-keys-file).
// Blank lines and lines starting with '#' are skipped; a key may appear only
// once, a tenant may have several keys. Errors name the line, never a key.
func LoadAPIKeys(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tenant, key, ok := strings.Cut(line, ":")
		tenant, key = strings.TrimSpace(tenant), strings.TrimSpace(key)
		if !ok {
			return nil, fmt.Errorf("%w: %s:%d: want tenant:key", ErrInvalidConfig, path, n)
		}
		if err := assets.CheckTenant(tenant); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %w", ErrInvalidConfig, path, n, err)
		}
		if err := checkKey(key); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if _, dup := keys[key]; dup {
			return nil, fmt.Errorf("%w: %s:%d: this key is listed twice", ErrInvalidConfig, path, n)
		}
		keys[key] = tenant
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("gateway: reading %s: %w", path, err)
	}
	return keys, nil
}
