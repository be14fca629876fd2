package backoff

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestPolicy_Delay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		p    Policy
		want []time.Duration // for attempts 1, 2, …
	}{
		{"doubles to the cap", Policy{Initial: 50 * ms, Max: 300 * ms}, []time.Duration{50 * ms, 100 * ms, 200 * ms, 300 * ms, 300 * ms}},
		{"multiplier", Policy{Initial: 10 * ms, Max: time.Second, Multiplier: 3}, []time.Duration{10 * ms, 30 * ms, 90 * ms, 270 * ms, 810 * ms, time.Second}},
		{"no cap", Policy{Initial: time.Second}, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"equal jitter at its lowest", Policy{Initial: 100 * ms, Max: time.Second, Jitter: 0.5, Rand: Fixed(1)}, []time.Duration{50 * ms, 100 * ms, 200 * ms}},
		{"jitter drawn as zero", Policy{Initial: 100 * ms, Max: time.Second, Jitter: 1, Rand: Fixed(0)}, []time.Duration{100 * ms, 200 * ms}},
		{"no initial", Policy{Max: time.Second}, []time.Duration{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				// Fixed(1) is just under 1: allow a nanosecond.
				if got := tt.p.Delay(i + 1); got < want-1 || got > want {
					t.Errorf("Delay(%d) = %v, want %v", i+1, got, want)
				}
			}
		})
	}
	if p := (Policy{Initial: time.Second}); p.Delay(0) != time.Second || p.Delay(-3) != time.Second {
		t.Error("attempts below 1 do not count as the first")
	}
	if d := (Policy{Initial: time.Hour}).Delay(1000); d <= 0 {
		t.Errorf("an uncapped delay overflowed: %v", d)
	}
}

func TestPolicy_JitterStaysInRangeAndSpreads(t *testing.T) {
	p := Policy{Initial: time.Second, Max: time.Second, Jitter: 0.2, Rand: rand.New(rand.NewPCG(1, 2))}
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := p.Delay(3)
		if d < 800*time.Millisecond || d > time.Second {
			t.Fatalf("delay %v outside [0.8s, 1s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct delays in 1000: the jitter does not spread", len(seen))
	}
	again := Policy{Initial: time.Second, Max: time.Second, Jitter: 0.2, Rand: rand.New(rand.NewPCG(1, 2))}
	first := Policy{Initial: time.Second, Max: time.Second, Jitter: 0.2, Rand: rand.New(rand.NewPCG(1, 2))}
	for i := range 10 {
		if a, b := again.Delay(i+1), first.Delay(i+1); a != b {
			t.Fatalf("the same seed gave %v and %v", a, b)
		}
	}
}

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	if d := p.Delay(1); d < 80*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("first delay %v", d)
	}
	if d := p.Delay(100); d > 10*time.Second || d < 8*time.Second {
		t.Fatalf("capped delay %v", d)
	}
}
