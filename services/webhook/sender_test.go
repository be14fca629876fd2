package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errcode"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// fakeTime is the Sender's clock in tests: a clock.Fake that a goroutine
// moves on to the end of each wait as soon as the Sender starts it,
// recording the wait, so a retry schedule of minutes runs in microseconds.
type fakeTime struct {
	*clock.Fake
	mu     sync.Mutex
	sleeps []time.Duration
}

func newFakeTime(t *testing.T) *fakeTime {
	f := &fakeTime{Fake: clock.NewFake(time.Unix(1_760_000_000, 0))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f.BlockUntil(ctx, 1) == nil {
			next := f.Deadlines()
			if len(next) == 0 { // the wait was stopped meanwhile
				continue
			}
			d := next[0].Sub(f.Now())
			f.mu.Lock()
			f.sleeps = append(f.sleeps, d)
			f.mu.Unlock()
			f.Advance(d)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func (f *fakeTime) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// receiver is an httptest server answering with answers[i] for request i
// (the last answer repeats) and recording what it got.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
}

type answer struct {
	status  int
	headers map[string]string
}

func newReceiver(t *testing.T, answers ...answer) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.requests)
		r.requests = append(r.requests, req)
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
		a := answers[min(n, len(answers)-1)]
		for k, v := range a.headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) Requests() ([]*http.Request, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.requests...), append([][]byte(nil), r.bodies...)
}

func newTestSender(t *testing.T, clk clock.Clock, mutate func(*Config)) *Sender {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Secret = testSecret
	cfg.AllowPrivate = true // httptest listens on 127.0.0.1
	cfg.Clock = clk
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// within reports whether every d[i] lies in [lo[i], hi[i]].
func within(d []time.Duration, bounds ...[2]time.Duration) bool {
	if len(d) != len(bounds) {
		return false
	}
	for i, b := range bounds {
		if d[i] < b[0] || d[i] > b[1] {
			return false
		}
	}
	return true
}

func TestSender_Deliver(t *testing.T) {
	s := time.Second
	retryDate := time.Unix(1_760_000_000, 0).Add(30 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name         string
		answers      []answer
		mutate       func(*Config)
		wantStatus   int // of the final AttemptError; 0 when delivered
		wantRequests int
		wantSleeps   [][2]time.Duration
	}{
		{"delivered at once", []answer{{status: 204}}, nil, 0, 1, nil},
		{"retries a flaky receiver", []answer{{status: 500}, {status: 503}, {status: 502}, {status: 200}}, nil, 0, 4,
			[][2]time.Duration{{s / 2, s}, {s, 2 * s}, {2 * s, 4 * s}}},
		{"honours Retry-After seconds", []answer{{status: 429, headers: map[string]string{"Retry-After": "7"}}, {status: 200}}, nil, 0, 2,
			[][2]time.Duration{{7 * s, 7 * s}}},
		{"honours Retry-After date", []answer{{status: 503, headers: map[string]string{"Retry-After": retryDate}}, {status: 200}}, nil, 0, 2,
			[][2]time.Duration{{30 * s, 30 * s}}},
		{"caps Retry-After at BackoffMax", []answer{{status: 429, headers: map[string]string{"Retry-After": "86400"}}, {status: 200}}, nil, 0, 2,
			[][2]time.Duration{{5 * time.Minute, 5 * time.Minute}}},
		{"stops on 400", []answer{{status: 400}, {status: 200}}, nil, 400, 1, nil},
		{"stops on 410", []answer{{status: 410}, {status: 200}}, nil, 410, 1, nil},
		{"does not follow a redirect", []answer{{status: 302, headers: map[string]string{"Location": "/elsewhere"}}, {status: 200}}, nil, 302, 1, nil},
		{"gives up after MaxAttempts", []answer{{status: 500}}, func(c *Config) { c.MaxAttempts = 4 }, 500, 4,
			[][2]time.Duration{{s / 2, s}, {s, 2 * s}, {2 * s, 4 * s}}},
		{"backoff capped at BackoffMax", []answer{{status: 503}}, func(c *Config) { c.MaxAttempts = 5; c.BackoffMax = 3 * s }, 503, 5,
			[][2]time.Duration{{s / 2, s}, {s, 2 * s}, {3 * s / 2, 3 * s}, {3 * s / 2, 3 * s}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recv := newReceiver(t, tt.answers...)
			clock := newFakeTime(t)
			body := []byte(`{"id":"job_1","status":"succeeded"}`)
			err := newTestSender(t, clock, tt.mutate).Deliver(context.Background(), recv.URL+"/hook?token=x", "msg_job_1", body)

			if tt.wantStatus == 0 && err != nil {
				t.Fatalf("Deliver = %v, want delivered", err)
			}
			if tt.wantStatus != 0 {
				var attempt *AttemptError
				if errcode.Of(err) != errcode.WebhookFailed || !errors.As(err, &attempt) {
					t.Fatalf("Deliver = %v, want WEBHOOK_FAILED with an AttemptError", err)
				}
				if attempt.StatusCode != tt.wantStatus || attempt.Attempt != tt.wantRequests {
					t.Fatalf("last attempt = %+v, want status %d at attempt %d", attempt, tt.wantStatus, tt.wantRequests)
				}
				if strings.Contains(err.Error(), "token=x") {
					t.Fatalf("error %q shows the URL's query", err)
				}
			}
			reqs, bodies := recv.Requests()
			if len(reqs) != tt.wantRequests {
				t.Fatalf("receiver got %d requests, want %d", len(reqs), tt.wantRequests)
			}
			if !within(clock.Sleeps(), tt.wantSleeps...) {
				t.Fatalf("waits = %v, want within %v", clock.Sleeps(), tt.wantSleeps)
			}
			sleeps, start := clock.Sleeps(), time.Unix(1_760_000_000, 0)
			for i, r := range reqs {
				if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || string(bodies[i]) != string(body) {
					t.Fatalf("request %d: %s %q with body %q", i, r.Method, r.Header.Get("Content-Type"), bodies[i])
				}
				if id := r.Header.Get(HeaderID); id != "msg_job_1" {
					t.Fatalf("request %d: webhook-id %q, want the same id on every attempt", i, id)
				}
				// Each attempt is signed at its own time.
				ts, _ := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
				if i > 0 {
					start = start.Add(sleeps[i-1])
				}
				if ts != start.Unix() {
					t.Fatalf("request %d: timestamp %d, want the attempt's time %d", i, ts, start.Unix())
				}
				if err := verifyAt(time.Unix(ts, 0), testSecret, r.Header, bodies[i], time.Second); err != nil {
					t.Fatalf("request %d does not verify: %v", i, err)
				}
			}
		})
	}
}
