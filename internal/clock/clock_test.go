package clock

import (
	"context"
	"testing"
	"time"
)

func TestFake_FiresInOrderAndResets(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	var fired []string
	a := c.AfterFunc(3*time.Second, func() { fired = append(fired, "a") })
	c.AfterFunc(time.Second, func() { fired = append(fired, "b") })
	c.Advance(2 * time.Second)
	if len(fired) != 1 || fired[0] != "b" {
		t.Fatalf("fired %v", fired)
	}
	a.Reset(5 * time.Second) // now 2s: due at 7s
	c.Advance(4 * time.Second)
	if len(fired) != 1 {
		t.Fatalf("reset timer fired early: %v", fired)
	}
	c.Advance(time.Second)
	if len(fired) != 2 || c.Now() != time.Unix(7, 0) {
		t.Fatalf("fired %v at %v", fired, c.Now())
	}
	if a.Stop() {
		t.Fatal("Stop of a fired timer reported active")
	}
}

func TestFake_TimerArmedByCallback(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	n := 0
	var tick func()
	tick = func() {
		n++
		c.AfterFunc(time.Second, tick)
	}
	c.AfterFunc(time.Second, tick)
	c.Advance(10 * time.Second)
	if n != 10 {
		t.Fatalf("ticked %d times in 10 s", n)
	}
}

func TestFake_ChannelTimersTickersAndSleep(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	tm := c.NewTimer(2 * time.Second)
	tk := c.NewTicker(time.Second)
	after := c.After(3 * time.Second)
	if n := c.Pending(); n != 3 {
		t.Fatalf("pending %d, want 3", n)
	}
	c.Advance(time.Second)
	select {
	case <-tm.C():
		t.Fatal("timer fired early")
	case at := <-tk.C():
		if at != time.Unix(1, 0) {
			t.Fatalf("tick at %v", at)
		}
	}
	c.Advance(1500 * time.Millisecond) // 2.5s: the timer and a tick
	if at := <-tm.C(); at != time.Unix(2, 0) {
		t.Fatalf("timer fired at %v", at)
	}
	<-tk.C()
	select {
	case <-after:
		t.Fatal("After fired early")
	default:
	}
	c.Advance(5 * time.Second) // ticks at 3..7 coalesce into one, as real tickers drop them
	<-after
	<-tk.C()
	select {
	case <-tk.C():
		t.Fatal("a slow ticker reader got a backlog")
	default:
	}
	tk.Stop()
	if c.Pending() != 0 {
		t.Fatalf("pending %d after everything fired or stopped", c.Pending())
	}
	tm.Reset(time.Second)
	if !tm.Stop() || c.Pending() != 0 {
		t.Fatal("Stop of a reset timer")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	slept := make(chan error, 1)
	go func() { slept <- c.Sleep(ctx, time.Minute) }()
	if err := c.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(59 * time.Second)
	select {
	case <-slept:
		t.Fatal("Sleep returned early")
	default:
	}
	c.Advance(time.Second)
	if err := <-slept; err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	go func() { slept <- c.Sleep(cctx, time.Minute) }()
	c.BlockUntil(ctx, 1)
	ccancel()
	if err := <-slept; err != context.Canceled {
		t.Fatalf("Sleep after cancel: %v", err)
	}
}

func TestFake_BlockUntilHonoursContext(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.BlockUntil(ctx, 1); err != context.Canceled {
		t.Fatalf("BlockUntil with nothing armed: %v", err)
	}
	c.AfterFunc(time.Second, func() {})
	c.AfterFunc(2*time.Second, func() {})
	if err := c.BlockUntil(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.BlockUntilDeadline(ctx, time.Unix(2, 0)); err != nil {
		t.Fatal(err)
	}
	if err := c.BlockUntilDeadline(ctx, time.Unix(3, 0)); err != context.Canceled {
		t.Fatalf("BlockUntilDeadline for a deadline nothing has: %v", err)
	}
	late := make(chan error, 1)
	lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer lcancel()
	go func() { late <- c.BlockUntilDeadline(lctx, time.Unix(3, 0)) }()
	tm := c.AfterFunc(time.Hour, func() {})
	tm.Reset(3 * time.Second) // a reset, not a new timer, must wake it too
	if err := <-late; err != nil {
		t.Fatal(err)
	}
	tm.Stop()
	if ds := c.Deadlines(); len(ds) != 2 || ds[0] != time.Unix(1, 0) || ds[1] != time.Unix(2, 0) {
		t.Fatalf("deadlines %v", ds)
	}
}

func TestReal(t *testing.T) {
	var c Clock = Real{}
	fired := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(fired) })
	<-fired
	<-c.After(time.Millisecond)
	tk := c.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Stop()
	tm := c.NewTimer(time.Hour)
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep: %v", err)
	}
	if c.Since(c.Now().Add(-time.Second)) < time.Second {
		t.Fatal("Since")
	}
}
