package gateway

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/services/assets/assetstest"
)

func TestRenders_RateLimited(t *testing.T) {
	tests := []struct {
		name       string
		lim        limiter
		status     int
		retryAfter string
	}{
		{"allowed", limiter{ok: true}, 202, ""},
		{"denied", limiter{retry: 1500 * time.Millisecond}, 429, "2"},
		{"denied, next token soon", limiter{retry: 10 * time.Millisecond}, 429, "1"},
		{"limiter down fails open", limiter{err: errRedisDown}, 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := tt.lim
			h := newHarness(t, withDeps(func(d *Deps) { d.Limiter = &lim }))
			before := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("rate_limiter"))
			resp := h.submit(canvasSpec("x"))
			if tt.status == 429 {
				checkProblem(t, resp, 429, errcode.RateLimited)
			} else {
				decode(t, resp, tt.status, nil)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if len(lim.keys) != 1 || lim.keys[0] != "tenant:"+DefaultTenant {
				t.Fatalf("limiter keys %v", lim.keys)
			}
			counted := testutil.ToFloat64(h.gw.met.failOpen.WithLabelValues("rate_limiter")) - before
			if (tt.lim.err != nil) != (counted == 1) {
				t.Fatalf("fail-open counted %g times", counted)
			}
		})
	}
	t.Run("uploads are limited too", func(t *testing.T) {
		h := newHarness(t, withDeps(func(d *Deps) { d.Limiter = &limiter{retry: time.Second} }))
		checkProblem(t, h.do("POST", "/v1/assets", bytes.NewReader(assetstest.PNG(t, 8, 8))), 429, errcode.RateLimited)
	})
}

func TestRenders_QueueDepth(t *testing.T) {
	tests := []struct {
		name   string
		depth  func() (int, error)
		status int
	}{
		{"below the limit", func() (int, error) { return 9, nil }, 202},
		{"at the limit", func() (int, error) { return 10, nil }, 503},
		{"depth unknown fails open", func() (int, error) { return 0, errors.New("scheduler unreachable") }, 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withConfig(func(c *Config) { c.QueueDepthLimit = 10 }),
				withDeps(func(d *Deps) { d.QueueDepth = tt.depth }))
			resp := h.submit(canvasSpec("x"))
			if tt.status == 503 {
				checkProblem(t, resp, 503, errcode.QueueUnavailable)
				if resp.Header.Get("Retry-After") != "5" {
					t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
				}
				return
			}
			decode(t, resp, tt.status, nil)
		})
	}
}

// TestRenders_ShedsABurstOverAStaleDepth: the depth signal still says 0
// (the leader publishes it every 250 ms), but the gateway counts what it
// admitted itself: the submission over the limit is shed with 503
// QUEUE_UNAVAILABLE and a Retry-After, and counted.
func TestRenders_ShedsABurstOverAStaleDepth(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.QueueDepthLimit, c.QueueSignalLag = 3, time.Minute }),
		withDeps(func(d *Deps) { d.QueueDepth = func() (int, error) { return 0, nil } }))
	shed := metrics.LocalErrors.WithLabelValues("gateway", string(errcode.QueueUnavailable))
	before := testutil.ToFloat64(shed)
	for range 3 {
		decode(t, h.submit(canvasSpec("x")), 202, nil)
	}
	resp := h.submit(canvasSpec("x"))
	checkProblem(t, resp, 503, errcode.QueueUnavailable)
	if got := resp.Header.Get("Retry-After"); got != "5" { // no drain rate yet: QueueRetryAfter
		t.Fatalf("Retry-After %q, want 5", got)
	}
	if n := testutil.ToFloat64(shed) - before; n != 1 {
		t.Fatalf("shed counted %g times, want 1", n)
	}
}

// TestRenders_ShedEarly: while the queue is full a submission without an
// Idempotency-Key is refused before its body is read (an invalid one gets
// 503, not 400); one with a key is read first, since a retry may be
// answered with the job it made. Either way the depth is read once.
func TestRenders_ShedEarly(t *testing.T) {
	var reads, depth atomic.Int64
	depth.Store(10)
	h := newHarness(t, withConfig(func(c *Config) { c.QueueDepthLimit = 10 }),
		withDeps(func(d *Deps) {
			d.QueueDepth = func() (int, error) { reads.Add(1); return int(depth.Load()), nil }
		}))
	checkProblem(t, h.submit(`{"not a spec"`), 503, errcode.QueueUnavailable)
	checkProblem(t, h.submit(`{"not a spec"`, "Idempotency-Key", "k1"), 400, errcode.SpecInvalid)
	reads.Store(0)
	depth.Store(0)
	decode(t, h.submit(canvasSpec("x")), 202, nil)
	if n := reads.Load(); n != 1 {
		t.Fatalf("the depth was read %d times for one submission, want 1", n)
	}
}

// admissionAt is an admission on a fake clock over a depth signal the test
// sets.
type admissionAt struct {
	*admission
	clk    *clock.Fake
	signal int
	err    error
}

// decide reads the signal and decides, as checkQueue does.
func (a *admissionAt) decide() verdict { return a.admission.decide(a.read()) }

func newAdmissionAt(limit int, lag time.Duration) *admissionAt {
	a := &admissionAt{clk: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	cfg := DefaultConfig()
	cfg.QueueDepthLimit, cfg.QueueSignalLag, cfg.QueueRetryAfter = limit, lag, 10*time.Second
	a.admission = newAdmission(func() (int, error) { return a.signal, a.err }, cfg, a.clk)
	return a
}

// admitN asks n times, every gap, and counts the admitted.
func (a *admissionAt) admitN(n int, gap time.Duration) (admitted int, last verdict) {
	for range n {
		last = a.decide()
		if last.admit {
			admitted++
		}
		a.clk.Advance(gap)
	}
	return admitted, last
}

func TestAdmission_Decide(t *testing.T) {
	t.Run("the signal at the limit sheds", func(t *testing.T) {
		a := newAdmissionAt(100, time.Second)
		a.signal = 100
		if v := a.decide(); v.admit || v.estimate != 100 || v.retry != 10*time.Second {
			t.Fatalf("%+v: want shed, estimate 100, Retry-After the ceiling while no drain rate is known", v)
		}
		a.signal = 99
		if v := a.decide(); !v.admit {
			t.Fatalf("%+v: want admitted below the limit", v)
		}
	})
	t.Run("own admissions count until the signal can show them", func(t *testing.T) {
		a := newAdmissionAt(10, time.Second)
		if n, v := a.admitN(15, time.Millisecond); n != 10 || v.admit || v.estimate != 10 {
			t.Fatalf("admitted %d over a stale 0 (last %+v), want 10", n, v)
		}
		a.clk.Advance(time.Second) // the signal has caught up: it still says 0
		if v := a.decide(); !v.admit || v.estimate != 0 {
			t.Fatalf("%+v: want admitted once the admissions are a lag old", v)
		}
	})
	t.Run("no lag trusts the signal alone", func(t *testing.T) {
		a := newAdmissionAt(10, 0)
		if n, _ := a.admitN(50, time.Millisecond); n != 50 {
			t.Fatalf("admitted %d of 50", n)
		}
	})
	t.Run("a signal that fails lets the job in", func(t *testing.T) {
		a := newAdmissionAt(1, time.Second)
		a.signal, a.err = 5, errors.New("etcd unreachable")
		if v := a.decide(); !v.admit || v.err == nil {
			t.Fatalf("%+v: want admitted with the error", v)
		}
	})
	t.Run("the drain rate offsets own admissions and sets Retry-After", func(t *testing.T) {
		a := newAdmissionAt(1000, time.Second)
		// The queue holds 700 and drains 200/s; the gateway admits 200/s,
		// so the signal stays at 700.
		a.signal = 700
		for range 3 {
			if n, _ := a.admitN(200, 5*time.Millisecond); n != 200 {
				t.Fatalf("admitted %d of 200 below the limit", n)
			}
		}
		// Steady: the admissions of the last second are what the queue
		// drained meanwhile, so they add nothing to the 700.
		if v := a.decide(); !v.admit || v.estimate != 700 {
			t.Fatalf("%+v: want admitted at 700 in the steady state", v)
		}
		if a.drain != 200 {
			t.Fatalf("drain %g/s, want 200", a.drain)
		}
		// A burst at one instant cannot be in the signal: 300 more fill
		// the queue to its limit.
		n, v := a.admitN(400, 0)
		if n != 300 || v.admit {
			t.Fatalf("admitted %d of a burst of 400 (last %+v), want 300", n, v)
		}
		if v.estimate != 1000 || v.retry != 5*time.Second {
			t.Fatalf("%+v: want estimate 1000 and Retry-After 1000/200 = 5s", v)
		}
		// The signal alone over the limit sheds; Retry-After stays at most
		// QueueRetryAfter.
		a.clk.Advance(time.Second)
		a.signal = 5000
		if v := a.decide(); v.admit || v.retry != 10*time.Second {
			t.Fatalf("%+v: want shed with Retry-After at the 10s ceiling", v)
		}
	})
	t.Run("a stale signal before the drain is known counts every admission", func(t *testing.T) {
		a := newAdmissionAt(1000, time.Second)
		a.signal = 700
		if n, v := a.admitN(400, time.Millisecond); n != 300 || v.estimate != 1000 {
			t.Fatalf("admitted %d (last %+v), want 300", n, v)
		}
	})
	t.Run("the drain rate follows a rise at once and a fall by halves", func(t *testing.T) {
		a := newAdmissionAt(100000, time.Second)
		a.signal = 10
		a.admitN(100, 10*time.Millisecond) // 100/s, all drained
		a.decide()
		if a.drain < 95 || a.drain > 105 {
			t.Fatalf("drain %g/s, want about 100", a.drain)
		}
		a.admitN(200, 2500*time.Microsecond) // 400/s, all drained
		a.decide()
		if a.drain < 390 || a.drain > 410 {
			t.Fatalf("drain %g/s after a rise, want about 400 at once", a.drain)
		}
		a.clk.Advance(drainSample) // nothing admitted, nothing drained
		a.decide()
		if a.drain < 195 || a.drain > 205 {
			t.Fatalf("drain %g/s after a stop, want about half of 400", a.drain)
		}
	})
	t.Run("Retry-After is at least a second", func(t *testing.T) {
		a := newAdmissionAt(10, time.Second)
		a.drain = 1e6
		a.signal = 10
		if v := a.decide(); v.admit || v.retry != time.Second {
			t.Fatalf("%+v: want Retry-After 1s", v)
		}
	})
}
