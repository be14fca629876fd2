package queue

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/stickerd/stickerd/internal/backoff"
)

// Config is shared by Producer and Consumer. Start from DefaultConfig: the
// zero durations are replaced by defaults, but Brokers is required.
type Config struct {
	// Brokers are bootstrap "host:port" addresses.
	Brokers []string
	// ClientID identifies this process to the broker; default "stickerd".
	ClientID string

	// Latency matters (submit→running p99 well under 50 ms end to end), so
	// the defaults are far below kafka-go's own (1 s linger, 10 s wait).

	// BatchTimeout is the producer's batch linger; default 2ms.
	BatchTimeout time.Duration
	// MaxWait is how long a consumer fetch waits for data; default 50ms.
	MaxWait time.Duration
	// WriteTimeout bounds one Publish, retries included; default 5s.
	WriteTimeout time.Duration

	// HeartbeatInterval is the consumer-group heartbeat period; default 1s.
	// It also bounds how long a running member takes to notice that a new
	// member is joining, which is most of a rebalance's duration.
	HeartbeatInterval time.Duration
	// SessionTimeout is how long the coordinator keeps a silent member
	// before reassigning its partitions; default 10s (kfake's and Kafka's
	// minimum is 6s).
	SessionTimeout time.Duration
	// RebalanceTimeout is how long the coordinator waits for members to
	// rejoin during a rebalance; default 10s.
	RebalanceTimeout time.Duration

	// RetryBackoffMin and RetryBackoffMax bound the exponential backoff
	// between attempts at one failing message (and between failed fetches
	// and commits); defaults 50ms and 5s.
	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration

	// Logger receives retries and broker errors; nil discards them.
	Logger *slog.Logger

	// TLS, when set, dials the brokers over TLS; a client certificate in
	// it authenticates this process to brokers with ssl.client.auth.
	TLS *tls.Config
	// SASLUser and SASLPassword authenticate with SASL; SASLMechanism is
	// SCRAM-SHA-512 (the default), SCRAM-SHA-256 or PLAIN (over TLS only).
	SASLMechanism, SASLUser, SASLPassword string
}

// SASL mechanisms.
const (
	ScramSHA512 = "SCRAM-SHA-512"
	ScramSHA256 = "SCRAM-SHA-256"
	Plain       = "PLAIN"
)

// mechanism is the SASL mechanism of c, nil without SASL.
func (c Config) mechanism() (sasl.Mechanism, error) {
	if c.SASLUser == "" && c.SASLPassword == "" {
		if c.SASLMechanism != "" {
			return nil, fmt.Errorf("queue: SASL mechanism %s without a user", c.SASLMechanism)
		}
		return nil, nil
	}
	if c.SASLUser == "" || c.SASLPassword == "" {
		return nil, errors.New("queue: SASL needs both a user and a password")
	}
	switch c.SASLMechanism {
	case "", ScramSHA512:
		return scram.Mechanism(scram.SHA512, c.SASLUser, c.SASLPassword)
	case ScramSHA256:
		return scram.Mechanism(scram.SHA256, c.SASLUser, c.SASLPassword)
	case Plain:
		if c.TLS == nil {
			return nil, errors.New("queue: SASL PLAIN sends the password in clear: use it over TLS only")
		}
		return plain.Mechanism{Username: c.SASLUser, Password: c.SASLPassword}, nil
	}
	return nil, fmt.Errorf("queue: SASL mechanism %q is not %s, %s or %s", c.SASLMechanism, ScramSHA512, ScramSHA256, Plain)
}

// dialer is a kafka-go dialer with c's TLS and SASL settings.
func (c Config) dialer() *kafka.Dialer {
	mech, _ := c.mechanism() // validated
	return &kafka.Dialer{ClientID: c.ClientID, Timeout: c.WriteTimeout, DualStack: true, TLS: c.TLS, SASLMechanism: mech}
}

// DefaultConfig returns a Config with every default filled in and no brokers.
func DefaultConfig() Config {
	return Config{
		ClientID:          "stickerd",
		BatchTimeout:      2 * time.Millisecond,
		MaxWait:           50 * time.Millisecond,
		WriteTimeout:      5 * time.Second,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		RetryBackoffMin:   50 * time.Millisecond,
		RetryBackoffMax:   5 * time.Second,
	}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.ClientID == "" {
		c.ClientID = d.ClientID
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.BatchTimeout, &d.BatchTimeout},
		{&c.MaxWait, &d.MaxWait},
		{&c.WriteTimeout, &d.WriteTimeout},
		{&c.HeartbeatInterval, &d.HeartbeatInterval},
		{&c.SessionTimeout, &d.SessionTimeout},
		{&c.RebalanceTimeout, &d.RebalanceTimeout},
		{&c.RetryBackoffMin, &d.RetryBackoffMin},
		{&c.RetryBackoffMax, &d.RetryBackoffMax},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first problem with c; zero durations count as
// defaults, negative ones are errors.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("queue: no brokers configured")
	}
	for i, b := range c.Brokers {
		if b == "" {
			return fmt.Errorf("queue: brokers[%d] is empty", i)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"BatchTimeout", c.BatchTimeout},
		{"MaxWait", c.MaxWait},
		{"WriteTimeout", c.WriteTimeout},
		{"HeartbeatInterval", c.HeartbeatInterval},
		{"SessionTimeout", c.SessionTimeout},
		{"RebalanceTimeout", c.RebalanceTimeout},
		{"RetryBackoffMin", c.RetryBackoffMin},
		{"RetryBackoffMax", c.RetryBackoffMax},
	} {
		if f.v < 0 {
			return fmt.Errorf("queue: %s must not be negative, got %v", f.name, f.v)
		}
	}
	if _, err := c.mechanism(); err != nil {
		return err
	}
	d := c.withDefaults()
	if d.HeartbeatInterval >= d.SessionTimeout {
		return fmt.Errorf("queue: HeartbeatInterval (%v) must be below SessionTimeout (%v)",
			d.HeartbeatInterval, d.SessionTimeout)
	}
	if d.RetryBackoffMin > d.RetryBackoffMax {
		return fmt.Errorf("queue: RetryBackoffMin (%v) exceeds RetryBackoffMax (%v)",
			d.RetryBackoffMin, d.RetryBackoffMax)
	}
	return nil
}

// retry is the capped exponential backoff between attempts: RetryBackoffMin
// doubled per attempt up to RetryBackoffMax, without jitter (one consumer
// retries one message; nothing else retries with it).
func (c Config) retry() backoff.Policy {
	return backoff.Policy{Initial: c.RetryBackoffMin, Max: c.RetryBackoffMax, Multiplier: 2}
}
