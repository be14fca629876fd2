package kafkaembed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultAddr is where the broker listens when Config.Addr is empty.
const DefaultAddr = "127.0.0.1:9092"

// DefaultPartitions is the partition count of seeded topics when
// Config.Partitions is zero.
const DefaultPartitions = 4

// Config says where the embedded broker listens and which topics it starts
// with.
type Config struct {
	// Addr is the host:port to listen on; DefaultAddr when empty. Port 0
	// picks a free port (read it back with Broker.Addr). A wildcard host
	// ("0.0.0.0", "::" or "") listens on every interface and advertises
	// 127.0.0.1 unless AdvertiseHost says otherwise.
	Addr string
	// AdvertiseHost is the host put in metadata responses, which is where
	// clients connect after bootstrapping; default: the listen host.
	AdvertiseHost string
	// Topics are created at start with Partitions partitions each.
	Topics []string
	// Partitions per seeded topic; DefaultPartitions when zero.
	Partitions int
}

// DefaultConfig listens on DefaultAddr with DefaultPartitions per topic.
func DefaultConfig() Config {
	return Config{Addr: DefaultAddr, Partitions: DefaultPartitions}
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	return c
}

// Validate reports a configuration Start would refuse.
func (c Config) Validate() error {
	c = c.withDefaults()
	if _, _, err := splitAddr(c.Addr); err != nil {
		return err
	}
	if c.Partitions < 1 {
		return fmt.Errorf("kafkaembed: partitions must be >= 1, got %d", c.Partitions)
	}
	for _, t := range c.Topics {
		if t == "" {
			return errors.New("kafkaembed: empty topic name")
		}
	}
	return nil
}

// Broker is a running single-node embedded Kafka cluster.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
}

// Start listens on cfg.Addr and serves the Kafka protocol there until Close.
// It fails if the port is already taken.
func Start(cfg Config) (*Broker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, port, _ := splitAddr(cfg.Addr)
	advertise := advertiseHost(host, cfg.AdvertiseHost)

	// kfake always listens on 127.0.0.1:<port> and advertises whatever its
	// listener's Addr reports, so ListenFn is where we choose both the real
	// listen address and the advertised one.
	listen := func(network, _ string) (net.Listener, error) {
		ln, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, err
		}
		return &advertisedListener{Listener: ln, host: advertise}, nil
	}

	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(listen),
		kfake.ClusterID("stickerd-embedded"),
	}
	if len(cfg.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(cfg.Partitions), cfg.Topics...))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafkaembed: start broker on %s: %w", cfg.Addr, err)
	}
	addrs := cluster.ListenAddrs()
	if len(addrs) != 1 {
		cluster.Close()
		return nil, fmt.Errorf("kafkaembed: expected one listener, got %d", len(addrs))
	}
	return &Broker{cluster: cluster, addr: addrs[0]}, nil
}

// Addr is the "host:port" a client dials; it is also what the broker
// advertises in metadata.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker, drops every client connection and discards all
// topics, offsets and groups. It is safe to call more than once.
func (b *Broker) Close() { b.cluster.Close() }

// Run starts a broker and serves until ctx ends, for a standalone
// `stickerd kafka` process.
func Run(ctx context.Context, cfg Config) error {
	b, err := Start(cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	b.Close()
	return nil
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("kafkaembed: address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("kafkaembed: address %q: invalid port", addr)
	}
	return host, port, nil
}

// advertiseHost is the host clients are told to connect to: override if set,
// else the listen host, except that a wildcard is not dialable and becomes
// the loopback address.
func advertiseHost(listenHost, override string) string {
	if override != "" {
		return override
	}
	if ip := net.ParseIP(listenHost); listenHost == "" || (ip != nil && ip.IsUnspecified()) {
		return "127.0.0.1"
	}
	return listenHost
}

// advertisedListener reports host (with the real port) as its address, which
// kfake copies into the broker list of metadata responses.
type advertisedListener struct {
	net.Listener
	host string
}

func (l *advertisedListener) Addr() net.Addr {
	actual := l.Listener.Addr()
	tcp, ok := actual.(*net.TCPAddr)
	if !ok {
		return actual
	}
	return advertisedAddr(net.JoinHostPort(l.host, strconv.Itoa(tcp.Port)))
}

type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }
