package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/stickerd/stickerd/internal/errcode"
)

func TestConfig_Validate(t *testing.T) {
	valid := DefaultConfig()
	valid.Brokers = []string{"127.0.0.1:9092"}
	with := func(f func(*Config)) Config {
		c := valid
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"defaults plus a broker", valid, false},
		{"zero durations mean defaults", Config{Brokers: []string{"b:9092"}}, false},
		{"no brokers", DefaultConfig(), true},
		{"empty broker", with(func(c *Config) { c.Brokers = []string{""} }), true},
		{"negative BatchTimeout", with(func(c *Config) { c.BatchTimeout = -1 }), true},
		{"negative MaxWait", with(func(c *Config) { c.MaxWait = -time.Second }), true},
		{"heartbeat not below session", with(func(c *Config) { c.HeartbeatInterval = c.SessionTimeout }), true},
		{"backoff min above max", with(func(c *Config) { c.RetryBackoffMin = time.Minute }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestConfig_DefaultsFavourLatency(t *testing.T) {
	d := Config{Brokers: []string{"b:9092"}}.withDefaults()
	if d.BatchTimeout != 2*time.Millisecond || d.MaxWait != 50*time.Millisecond ||
		d.WriteTimeout != 5*time.Second || d.ClientID != "stickerd" || d.Logger == nil {
		t.Fatalf("defaults: %+v", d)
	}
	if got := Topics(); len(got) != 4 || got[0] != "stickerd.render.jobs" {
		t.Fatalf("Topics() = %v", got)
	}
}

func TestConfig_BackoffIsExponentialAndCapped(t *testing.T) {
	c := Config{RetryBackoffMin: 50 * time.Millisecond, RetryBackoffMax: time.Second}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{1, 50 * time.Millisecond},
		{2, 100 * time.Millisecond},
		{3, 200 * time.Millisecond},
		{5, 800 * time.Millisecond},
		{6, time.Second},
		{1000, time.Second},
	}
	for _, tt := range tests {
		if got := c.retry().Delay(tt.attempt); got != tt.want {
			t.Errorf("retry().Delay(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

func TestIsUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", refused, true},
		{"wrapped connection refused", fmt.Errorf("metadata: %w", refused), true},
		{"reset by peer", syscall.ECONNRESET, true},
		{"broker hung up", io.ErrUnexpectedEOF, true},
		{"deadline", context.DeadlineExceeded, true},
		{"leader not available", kafka.LeaderNotAvailable, true},
		{"not coordinator", kafka.NotCoordinatorForGroup, true},
		{"request timed out", kafka.RequestTimedOut, true},
		{"one of the write errors", kafka.WriteErrors{nil, kafka.LeaderNotAvailable}, true},
		{"already ErrUnavailable", unavailable(errors.New("x"), "publish"), true},
		{"caller canceled", context.Canceled, false},
		{"writer closed", io.ErrClosedPipe, false},
		{"not authorized", kafka.TopicAuthorizationFailed, false},
		{"too large", kafka.MessageTooLargeError{}, false},
		{"write errors, none transient", kafka.WriteErrors{kafka.MessageSizeTooLarge}, false},
		{"plain error", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isUnavailable(tt.err); got != tt.want {
				t.Fatalf("isUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestUnavailable_MapsToQueueUnavailable(t *testing.T) {
	err := fmt.Errorf("gateway: %w", unavailable(context.DeadlineExceeded, "publish to x"))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v: want ErrUnavailable and its cause", err)
	}
	if errcode.Of(err) != errcode.QueueUnavailable {
		t.Fatalf("errcode.Of = %s", errcode.Of(err))
	}
}

func TestNew_RejectsBadArguments(t *testing.T) {
	cfg := testConfig("127.0.0.1:1")
	if _, err := NewConsumer(cfg, "", TopicJobs); err == nil {
		t.Error("NewConsumer without a group succeeded")
	}
	if _, err := NewConsumer(cfg, "g", ""); err == nil {
		t.Error("NewConsumer without a topic succeeded")
	}
	if _, err := NewProducer(Config{}); err == nil {
		t.Error("NewProducer without brokers succeeded")
	}
	c, err := NewConsumer(cfg, "g", TopicJobs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Run(context.Background(), nil); err == nil {
		t.Error("Run with a nil handler succeeded")
	}
}
