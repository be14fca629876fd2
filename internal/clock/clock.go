// Package clock lets code with timeouts (heartbeats, leases, backoff,
// resends) run on a fake clock in tests, so a 30-second timeout test takes
// microseconds and needs no sleep.
//
// Code takes a Clock (Real in production) and never calls time.Now,
// time.After, time.NewTimer, time.NewTicker, time.AfterFunc or time.Sleep
// itself. A test passes a Fake, waits with BlockUntil until the code under
// test has armed the timers it expects, and moves time with Advance.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock is the time source: the real one, or a Fake.
type Clock interface {
	Now() time.Time
	// Since is Now().Sub(t).
	Since(t time.Time) time.Duration
	// AfterFunc calls f after d, like time.AfterFunc: in its own goroutine
	// on the real clock, inside Advance on a Fake.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer sends the time on the timer's C once d has passed.
	NewTimer(d time.Duration) Timer
	// NewTicker sends the time on the ticker's C every d (d > 0),
	// dropping ticks a slow reader misses, like time.NewTicker.
	NewTicker(d time.Duration) Ticker
	// After is NewTimer(d).C(), for a select that needs no Stop.
	After(d time.Duration) <-chan time.Time
	// Sleep waits d, or until ctx ends, when it returns ctx's error.
	Sleep(ctx context.Context, d time.Duration) error
}

// Timer is a stoppable, resettable timer. C is nil for an AfterFunc timer.
// As with time.Timer since Go 1.23, no stale time is received from C after
// Stop or Reset returns.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Ticker is a stoppable, resettable ticker.
type Ticker interface {
	C() <-chan time.Time
	Stop()
	Reset(d time.Duration)
}

// Real is the wall clock.
type Real struct{}

// Now implements Clock.
func (Real) Now() time.Time { return time.Now() }

// Since implements Clock.
func (Real) Since(t time.Time) time.Duration { return time.Since(t) }

// AfterFunc implements Clock.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

// NewTimer implements Clock.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// NewTicker implements Clock.
func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

// After implements Clock.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Sleep implements Clock.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type realTimer struct{ *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.Timer.C }

type realTicker struct{ *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.Ticker.C }

// Fake is a manual clock: time moves only when Advance is called, which
// fires the timers that fall due, in order. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	active  []*fakeTimer  // armed timers and tickers
	changed chan struct{} // closed and replaced whenever active changes
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake { return &Fake{now: start, changed: make(chan struct{})} }

// Now implements Clock.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Since implements Clock.
func (c *Fake) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// AfterFunc implements Clock. f runs synchronously inside the Advance that
// makes it due, so a test sees its effects as soon as Advance returns; f
// must not call Advance.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	return c.arm(&fakeTimer{c: c, f: f}, d)
}

// NewTimer implements Clock.
func (c *Fake) NewTimer(d time.Duration) Timer {
	return c.arm(&fakeTimer{c: c, ch: make(chan time.Time, 1)}, d)
}

// NewTicker implements Clock.
func (c *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	return fakeTicker{c.arm(&fakeTimer{c: c, ch: make(chan time.Time, 1), period: d}, d)}
}

// After implements Clock.
func (c *Fake) After(d time.Duration) <-chan time.Time { return c.NewTimer(d).C() }

// Sleep implements Clock: it returns once Advance has moved the clock d
// past the call, or when ctx ends.
func (c *Fake) Sleep(ctx context.Context, d time.Duration) error {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

func (c *Fake) arm(t *fakeTimer, d time.Duration) *fakeTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scheduleLocked(t, c.now.Add(d))
	return t
}

// scheduleLocked (re)arms t to fire at at.
func (c *Fake) scheduleLocked(t *fakeTimer, at time.Time) {
	c.seq++
	t.at, t.seq = at, c.seq
	if !t.armed {
		t.armed = true
		c.active = append(c.active, t)
	}
	c.notifyLocked()
}

func (c *Fake) disarmLocked(t *fakeTimer) bool {
	if !t.armed {
		return false
	}
	t.armed = false
	for i, a := range c.active {
		if a == t {
			c.active = append(c.active[:i], c.active[i+1:]...)
			break
		}
	}
	c.notifyLocked()
	return true
}

func (c *Fake) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves time forward by d and fires every timer due by then,
// earliest first (in the order they were armed when due together), with
// Now at each one's due time. AfterFunc callbacks run synchronously;
// channel timers and tickers get a non-blocking send, as real ones do.
// A timer armed by a callback fires in the same Advance when it is due.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var due *fakeTimer
		for _, t := range c.active {
			if !t.at.After(end) && (due == nil || t.at.Before(due.at) || (t.at.Equal(due.at) && t.seq < due.seq)) {
				due = t
			}
		}
		if due == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		if due.at.After(c.now) {
			c.now = due.at
		}
		now := c.now
		if due.period > 0 {
			c.scheduleLocked(due, due.at.Add(due.period))
		} else {
			c.disarmLocked(due)
		}
		f, ch := due.f, due.ch
		c.mu.Unlock()
		if f != nil {
			f()
		} else {
			select {
			case ch <- now:
			default:
			}
		}
	}
}

// Pending reports how many timers and tickers are armed.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.active)
}

// BlockUntil waits until at least n timers and tickers are armed, or ctx
// ends (its error). A test calls it to know that the code under test has
// reached its wait (a heartbeat ticker, a backoff timer) before it calls
// Advance, instead of sleeping and hoping.
func (c *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		ok, ch := len(c.active) >= n, c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// BlockUntilDeadline waits until a timer or ticker is armed to fire at
// at, or ctx ends (its error): a test that knows when the code under test
// must wake (a backoff that ends at a job's NotBefore) waits for exactly
// that timer, however many others there are.
func (c *Fake) BlockUntilDeadline(ctx context.Context, at time.Time) error {
	for {
		c.mu.Lock()
		ok, ch := false, c.changed
		for _, t := range c.active {
			if t.at.Equal(at) {
				ok = true
				break
			}
		}
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Deadlines lists when the armed timers and tickers fire next, in the
// order they will.
func (c *Fake) Deadlines() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Time, 0, len(c.active))
	for _, t := range c.active {
		out = append(out, t.at)
	}
	for i := 1; i < len(out); i++ { // insertion sort: few timers
		for j := i; j > 0 && out[j].Before(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

type fakeTimer struct {
	c      *Fake
	f      func()         // AfterFunc
	ch     chan time.Time // NewTimer, NewTicker
	period time.Duration  // tickers
	at     time.Time
	seq    uint64
	armed  bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) drainLocked() {
	if t.ch != nil {
		select {
		case <-t.ch:
		default:
		}
	}
}

// Stop implements Timer.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.drainLocked()
	return t.c.disarmLocked(t)
}

// Reset implements Timer; on a ticker, d is the new period.
func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed
	t.drainLocked()
	if t.period > 0 {
		if d <= 0 {
			panic("clock: non-positive interval for Ticker.Reset")
		}
		t.period = d
	}
	t.c.scheduleLocked(t, t.c.now.Add(d))
	return was
}

// fakeTicker adapts a fakeTimer to Ticker.
type fakeTicker struct{ *fakeTimer }

func (t fakeTicker) Stop()                 { t.fakeTimer.Stop() }
func (t fakeTicker) Reset(d time.Duration) { t.fakeTimer.Reset(d) }
