package clock

import (
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
