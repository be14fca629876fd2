package webhook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/fetch"
)

func TestSender_RefusesPrivateAddresses(t *testing.T) {
	recv := newReceiver(t, answer{status: 200})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(recv.URL, "http://"))
	tests := []struct{ name, url string }{
		{"loopback address", recv.URL},
		{"name resolving to loopback", "http://localhost:" + port},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeTime(t)
			s := newTestSender(t, clock, func(c *Config) { c.AllowPrivate = false; c.Timeout = time.Second })
			err := s.Deliver(context.Background(), tt.url, "msg_1", []byte(`{}`))
			if errcode.Of(err) != errcode.WebhookFailed || !errors.Is(err, fetch.ErrForbiddenAddress) {
				t.Fatalf("Deliver = %v, want WEBHOOK_FAILED for a forbidden address", err)
			}
			if len(clock.Sleeps()) != 0 {
				t.Fatalf("retried a forbidden address (waits %v)", clock.Sleeps())
			}
		})
	}
	if reqs, _ := recv.Requests(); len(reqs) != 0 {
		t.Fatalf("the loopback receiver got %d requests", len(reqs))
	}
}

// TestSender_ControlRefusesNonPublic checks the dial-time filter on
// addresses directly, so that the test sends nothing anywhere.
func TestSender_ControlRefusesNonPublic(t *testing.T) {
	strict := newTestSender(t, newFakeTime(t), func(c *Config) { c.AllowPrivate = false })
	lenient := newTestSender(t, newFakeTime(t), nil)
	tests := []struct {
		address    string
		wantPublic bool
	}{
		{"127.0.0.1:80", false},
		{"10.1.2.3:443", false},
		{"192.168.1.1:80", false},
		{"169.254.169.254:80", false},
		{"[::1]:80", false},
		{"[fd00:ec2::254]:80", false},
		{"[::ffff:127.0.0.1]:80", false},
		{"93.184.216.34:443", true},
		{"[2606:4700::1111]:443", true},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			err := strict.control("tcp", tt.address, nil)
			if (err == nil) != tt.wantPublic || (err != nil && !errors.Is(err, fetch.ErrForbiddenAddress)) {
				t.Fatalf("control(%s) = %v, want public %v", tt.address, err, tt.wantPublic)
			}
			if err := lenient.control("tcp", tt.address, nil); err != nil {
				t.Fatalf("control with AllowPrivate = %v", err)
			}
		})
	}
}

func TestSender_RefusesBadURLs(t *testing.T) {
	for _, url := range []string{"ftp://example.com/x", "http://user:pw@example.com/", "not a url", ""} {
		t.Run(url, func(t *testing.T) {
			clock := newFakeTime(t)
			err := newTestSender(t, clock, nil).Deliver(context.Background(), url, "msg_1", []byte(`{}`))
			if errcode.Of(err) != errcode.WebhookFailed || len(clock.Sleeps()) != 0 {
				t.Fatalf("Deliver = %v after %d waits, want WEBHOOK_FAILED at once", err, len(clock.Sleeps()))
			}
		})
	}
}

func TestSender_RetriesTransportErrors(t *testing.T) {
	tests := []struct {
		name string
		url  func(t *testing.T) string
		want bool // delivered on the second attempt
	}{
		{"connection refused", func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			l.Close() // nothing listens there any more
			return "http://" + l.Addr().String()
		}, false},
		{"attempt timeout", func(t *testing.T) string {
			var calls atomic.Int32
			srv := newReceiver(t, answer{status: 200})
			inner := srv.Config.Handler
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					// Hang until the sender gives up. The body must be read
					// for the server to notice the client hanging up.
					io.Copy(io.Discard, r.Body)
					select {
					case <-r.Context().Done():
					case <-time.After(5 * time.Second):
					}
					return
				}
				inner.ServeHTTP(w, r)
			})
			return srv.URL
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeTime(t)
			s := newTestSender(t, clock, func(c *Config) { c.MaxAttempts = 3; c.Timeout = 100 * time.Millisecond })
			err := s.Deliver(context.Background(), tt.url(t), "msg_1", []byte(`{}`))
			if tt.want {
				if err != nil || len(clock.Sleeps()) != 1 {
					t.Fatalf("Deliver = %v after %d waits, want delivered on the second attempt", err, len(clock.Sleeps()))
				}
				return
			}
			var attempt *AttemptError
			if errcode.Of(err) != errcode.WebhookFailed || !errors.As(err, &attempt) || attempt.Err == nil || attempt.Attempt != 3 {
				t.Fatalf("Deliver = %v, want WEBHOOK_FAILED after 3 transport errors", err)
			}
		})
	}
}

func TestSender_CanceledIsNotAFailure(t *testing.T) {
	recv := newReceiver(t, answer{status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The shutdown comes while the sender waits to retry.
	fake := clock.NewFake(time.Unix(1_760_000_000, 0))
	s := newTestSender(t, fake, nil)
	go func() {
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer wcancel()
		if fake.BlockUntil(wctx, 1) == nil {
			cancel()
		}
	}()
	err := s.Deliver(ctx, recv.URL, "msg_1", []byte(`{}`))
	if !errors.Is(err, context.Canceled) || errcode.Of(err) == errcode.WebhookFailed {
		t.Fatalf("Deliver = %v (code %s), want context.Canceled, not WEBHOOK_FAILED", err, errcode.Of(err))
	}
}

func TestSender_SignsWithEverySecretDuringRotation(t *testing.T) {
	recv := newReceiver(t, answer{status: 200})
	next := NewSecret()
	s, err := NewSender(Config{Secret: next, PreviousSecrets: []string{testSecret}, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), recv.URL, "msg_1", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	reqs, bodies := recv.Requests()
	if sigs := strings.Fields(reqs[0].Header.Get(HeaderSignature)); len(sigs) != 2 {
		t.Fatalf("webhook-signature = %v, want two signatures", sigs)
	}
	for _, secret := range []string{next, testSecret} {
		if err := Verify(secret, reqs[0].Header, bodies[0], 0); err != nil {
			t.Fatalf("Verify with one of the secrets: %v", err)
		}
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr bool
	}{
		{"defaults with a secret", func(*Config) {}, false},
		{"no secret", func(c *Config) { c.Secret = "" }, true},
		{"bad secret", func(c *Config) { c.Secret = "whsec_!!" }, true},
		{"bad previous secret", func(c *Config) { c.PreviousSecrets = []string{"whsec_"} }, true},
		{"negative attempts", func(c *Config) { c.MaxAttempts = -1 }, true},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, true},
		{"max under base", func(c *Config) { c.BackoffBase = time.Minute; c.BackoffMax = time.Second }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Secret: testSecret}
			tt.mutate(&cfg)
			err := cfg.Validate()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
				t.Fatalf("Validate = %v, wantErr %v", err, tt.wantErr)
			}
			if _, err2 := NewSender(cfg); (err2 != nil) != tt.wantErr {
				t.Fatalf("NewSender = %v, wantErr %v", err2, tt.wantErr)
			}
		})
	}
}

// A failed delivery says why in its message, which is what the logs show:
// the receiver's status, or the transport's error; never the URL's path or
// query, which may hold the receiver's secret.
func TestSender_FailureNamesTheReason(t *testing.T) {
	recv := newReceiver(t, answer{status: 404})
	tests := []struct {
		name, url string
		private   bool
		want      string
	}{
		{"private address", recv.URL + "/hook?token=s3cret", false, "private or local address"},
		{"numeric host", "http://2130706433/hook?token=s3cret", true, "dotted decimal"},
		{"receiver answer", recv.URL + "/hook?token=s3cret", true, "HTTP 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeTime(t)
			s := newTestSender(t, clock, func(c *Config) { c.AllowPrivate = tt.private })
			err := s.Deliver(context.Background(), tt.url, "msg_1", []byte(`{}`))
			if errcode.Of(err) != errcode.WebhookFailed || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Deliver = %v, want WEBHOOK_FAILED saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the message shows the URL's query: %v", err)
			}
			if len(clock.Sleeps()) != 0 {
				t.Fatalf("retried a final failure (waits %v)", clock.Sleeps())
			}
		})
	}
	if reqs, _ := recv.Requests(); len(reqs) != 1 {
		t.Fatalf("the receiver got %d requests, want 1", len(reqs))
	}
}
