// Package backoff is the one capped exponential backoff with jitter that
// every retry loop in stickerd uses: reconnecting workers, store retries,
// job retry delays, Kafka, fetches, webhooks, the edge and the SDK.
//
// Attempts count from 1: Delay(1) is the pause after the first failure.
// Without jitter the delays are Initial, Initial·Multiplier,
// Initial·Multiplier², … capped at Max. Jitter takes a random part off each
// delay, so that many clients that failed together do not retry together:
// with Jitter j the delay is drawn uniformly from [d·(1−j), d]. Jitter 0.5
// is "equal jitter" (half fixed, half random), 1 is "full jitter".
package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// Source is a random source for jitter: Float64 returns a number in [0, 1).
// *math/rand/v2.Rand is one. The default, the global math/rand/v2 source,
// is safe for concurrent use; a Source set on a Policy that is shared
// between goroutines must be too.
type Source interface {
	Float64() float64
}

// Policy shapes a capped exponential backoff. The zero Multiplier means 2.
type Policy struct {
	// Initial is the delay after the first failed attempt.
	Initial time.Duration
	// Max caps every delay; 0 means no cap.
	Max time.Duration
	// Multiplier grows the delay per attempt; below 1 (the zero value) it
	// is 2.
	Multiplier float64
	// Jitter is the random fraction of each delay, in [0, 1]: the delay is
	// drawn from [d·(1−Jitter), d]. 0 makes Delay deterministic (tests).
	Jitter float64
	// Rand draws the jitter; nil uses math/rand/v2. Tests that want
	// jitter but a fixed sequence set a seeded *rand.Rand or Fixed.
	Rand Source
}

// DefaultPolicy is 100ms doubling to at most 10s, with 20% jitter.
func DefaultPolicy() Policy {
	return Policy{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2, Jitter: 0.2}
}

// Delay is the pause after failed attempt number attempt (1-based;
// anything below 1 counts as 1).
func (p Policy) Delay(attempt int) time.Duration {
	if p.Initial <= 0 {
		return 0
	}
	mult := p.Multiplier
	if mult < 1 {
		mult = 2
	}
	limit := float64(math.MaxInt64)
	if p.Max > 0 {
		limit = float64(p.Max)
	}
	d := float64(p.Initial)
	for i := 1; i < attempt && d < limit; i++ {
		d *= mult
	}
	d = min(d, limit)
	if j := min(max(p.Jitter, 0), 1); j > 0 {
		r := rand.Float64
		if p.Rand != nil {
			r = p.Rand.Float64
		}
		d -= d * j * r()
	}
	if d >= float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// Fixed is a Source that always returns f (clamped to [0, 1)): with it a
// jittered Policy gives the same delays every run.
func Fixed(f float64) Source { return fixed(min(max(f, 0), math.Nextafter(1, 0))) }

type fixed float64

func (f fixed) Float64() float64 { return float64(f) }
