package kafkaembed

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

func startBroker(t *testing.T, cfg Config) *Broker {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	b, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestStart_SeedsTopicsAndAdvertisesItsAddress(t *testing.T) {
	b := startBroker(t, Config{Topics: []string{"a", "b"}, Partitions: 3})
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr() = %q, want 127.0.0.1 and a real port", b.Addr())
	}

	conn, err := kafka.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))

	brokers, err := conn.Brokers()
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if len(brokers) != 1 {
		t.Fatalf("got %d brokers, want 1", len(brokers))
	}
	if got := net.JoinHostPort(brokers[0].Host, strconv.Itoa(brokers[0].Port)); got != b.Addr() {
		t.Errorf("metadata advertises %s, want %s", got, b.Addr())
	}
	for _, topic := range []string{"a", "b"} {
		parts, err := conn.ReadPartitions(topic)
		if err != nil {
			t.Fatalf("ReadPartitions(%s): %v", topic, err)
		}
		if len(parts) != 3 {
			t.Errorf("topic %s has %d partitions, want 3", topic, len(parts))
		}
	}
}

func TestStart_AdvertisesTheConfiguredHost(t *testing.T) {
	b := startBroker(t, Config{AdvertiseHost: "kafka.test"})
	_, port, _ := net.SplitHostPort(b.Addr())
	if want := net.JoinHostPort("kafka.test", port); b.Addr() != want {
		t.Fatalf("Addr() = %s, want %s", b.Addr(), want)
	}
	// Bootstrap through the loopback listener; metadata names the
	// advertised host.
	conn, err := kafka.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	brokers, err := conn.Brokers()
	if err != nil || len(brokers) != 1 || brokers[0].Host != "kafka.test" {
		t.Fatalf("metadata brokers %+v (%v), want host kafka.test", brokers, err)
	}
}

func TestStart_FailsWhenPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := Start(Config{Addr: ln.Addr().String()})
	if err == nil {
		b.Close()
		t.Fatalf("Start on a taken port succeeded")
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start: %v, want EADDRINUSE", err)
	}
}

func TestBroker_ServesKafkaGoConsumerGroups(t *testing.T) {
	b := startBroker(t, Config{Topics: []string{"t"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: "t", Balancer: &kafka.Hash{},
		BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("hello")}); err != nil {
		t.Fatalf("write: %v", err)
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "g", Topic: "t",
		MaxWait: 50 * time.Millisecond, StartOffset: kafka.FirstOffset, HeartbeatInterval: time.Second})
	defer r.Close()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if string(m.Key) != "k" || string(m.Value) != "hello" {
		t.Fatalf("got %q=%q, want k=hello", m.Key, m.Value)
	}
	if err := r.CommitMessages(ctx, m); err != nil {
		t.Fatalf("commit: %v", err)
	}
	info, err := b.cluster.WaitGroupInfo(ctx, "g", func(g *kfake.GroupInfo) bool {
		return g != nil && g.Commits["t"][int32(m.Partition)].Offset == m.Offset+1
	})
	if err != nil {
		t.Fatalf("commit not visible in group %v: %v", info, err)
	}
}

func TestRun_ServesUntilContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, Config{Addr: addr, Topics: []string{"t"}}) }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := kafka.Dial("tcp", addr)
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
			_, err = conn.ReadPartitions("t")
			conn.Close()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker at %s never answered: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after Run returned", addr)
	}
}

func TestAdvertiseHost(t *testing.T) {
	tests := []struct{ listen, override, want string }{
		{"127.0.0.1", "", "127.0.0.1"},
		{"0.0.0.0", "", "127.0.0.1"},
		{"::", "", "127.0.0.1"},
		{"", "", "127.0.0.1"},
		{"0.0.0.0", "kafka.internal", "kafka.internal"},
		{"10.1.2.3", "", "10.1.2.3"},
	}
	for _, tt := range tests {
		if got := advertiseHost(tt.listen, tt.override); got != tt.want {
			t.Errorf("advertiseHost(%q, %q) = %q, want %q", tt.listen, tt.override, got, tt.want)
		}
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"defaults", Config{}, false},
		{"free port", Config{Addr: "127.0.0.1:0", Topics: []string{"x"}}, false},
		{"no port", Config{Addr: "127.0.0.1"}, true},
		{"bad port", Config{Addr: "127.0.0.1:99999"}, true},
		{"negative partitions", Config{Partitions: -1}, true},
		{"empty topic", Config{Topics: []string{""}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
