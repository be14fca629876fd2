package gateway

import (
	"math"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
)

// drainSample is how often an admission re-estimates the queue's drain
// rate from the depth signal.
const drainSample = 500 * time.Millisecond

// admission is the gateway's backpressure (checkQueue): a submission is
// shed while the queue, as this gateway estimates it, is at
// Config.QueueDepthLimit.
//
// The estimate is the depth signal (Deps.QueueDepth: the leader's queue,
// or the depth it publishes in etcd for gateways in other processes, a
// fraction of a second old) plus this gateway's own admissions that the
// signal may not count yet: those of the last Config.QueueSignalLag, less
// what the queue drained meanwhile. Counting its own recent admissions
// keeps a burst from overrunning the limit between two readings of the
// signal (and counts jobs accepted but not yet seen by the scheduler);
// taking the drain off again keeps a gateway admitting at the rate the
// queue drains, so the queue stays near the limit instead of emptying. The
// queue, and so the wait of every admitted job, stays bounded by about the
// limit over the drain rate.
//
// The drain rate is estimated from consecutive readings: what the queue
// held, plus what this gateway admitted since, less what it holds now.
// Other gateways' admissions make it an underestimate of the scheduler's
// rate, but an exact one of the share this gateway can admit. It follows a
// rise at once and a fall by halves: an estimate that lags a rise would
// shed below capacity, one that is high lets in at most a lag's worth more
// (the signal itself still bounds the queue). Retry-After is the estimated
// queue over that rate: when the backlog will have drained.
type admission struct {
	depth    func() (int, error)
	clock    clock.Clock
	limit    int
	lag      time.Duration
	maxRetry time.Duration

	mu sync.Mutex
	// admits are the times of this gateway's admissions within lag, oldest
	// first, from admits[head].
	admits []time.Time
	head   int
	// The drain estimate: the reading at markAt, the admissions since, and
	// the rate in jobs/s (0 while unknown).
	markAt     time.Time
	markDepth  int
	markAdmits int
	drain      float64
}

// verdict is one admission decision.
type verdict struct {
	admit bool
	// estimate is the depth signal plus the admissions it may not count
	// yet.
	estimate int
	// retry is the Retry-After of a shed submission.
	retry time.Duration
	// err is the depth signal's failure: the submission is admitted (fail
	// open).
	err error
}

func newAdmission(depth func() (int, error), cfg Config, clk clock.Clock) *admission {
	return &admission{depth: depth, clock: clk, limit: cfg.QueueDepthLimit, lag: cfg.QueueSignalLag,
		maxRetry: cfg.QueueRetryAfter}
}

// reading is one read of the depth signal.
type reading struct {
	depth int
	err   error
}

// read reads the depth signal (outside the lock: it may be a network
// read).
func (a *admission) read() reading {
	n, err := a.depth()
	return reading{n, err}
}

// decide admits or sheds one submission on r; an admitted one counts from
// now on.
func (a *admission) decide(r reading) verdict { return a.judge(r, true) }

// peek is decide without counting an admission: whether a submission
// would be shed now.
func (a *admission) peek(r reading) verdict { return a.judge(r, false) }

func (a *admission) judge(r reading, count bool) verdict {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	a.expire(now)
	if r.err != nil {
		if count {
			a.record(now)
		}
		return verdict{admit: true, err: r.err}
	}
	n := r.depth
	a.sampleDrain(now, n)
	v := verdict{estimate: n + a.unseen()}
	if v.estimate < a.limit {
		v.admit = true
		if count {
			a.record(now)
		}
		return v
	}
	v.retry = a.maxRetry
	if a.drain > 0 {
		v.retry = min(max(time.Duration(float64(v.estimate)/a.drain*float64(time.Second)), time.Second), a.maxRetry)
	}
	return v
}

// unseen is how many of this gateway's admissions the depth signal may
// not count yet: those of the last lag, less the queue's drain over lag.
func (a *admission) unseen() int {
	pending := float64(len(a.admits) - a.head)
	return int(math.Ceil(max(0, pending-a.drain*a.lag.Seconds())))
}

func (a *admission) record(now time.Time) {
	if a.lag > 0 {
		a.admits = append(a.admits, now)
	}
	a.markAdmits++
}

// expire forgets admissions older than lag.
func (a *admission) expire(now time.Time) {
	for a.head < len(a.admits) && now.Sub(a.admits[a.head]) >= a.lag {
		a.head++
	}
	if a.head > 0 && a.head >= len(a.admits)/2 {
		a.admits = append(a.admits[:0], a.admits[a.head:]...)
		a.head = 0
	}
}

// sampleDrain updates the drain rate once every drainSample: the queue
// drained what it held at the last mark plus what was admitted since,
// less what it holds now. A rise is taken at once, a fall by halves.
func (a *admission) sampleDrain(now time.Time, depth int) {
	if a.markAt.IsZero() {
		a.markAt, a.markDepth, a.markAdmits = now, depth, 0
		return
	}
	dt := now.Sub(a.markAt)
	if dt < drainSample {
		return
	}
	rate := max(0, float64(a.markDepth+a.markAdmits-depth)) / dt.Seconds()
	a.drain = max(rate, (a.drain+rate)/2)
	a.markAt, a.markDepth, a.markAdmits = now, depth, 0
}

func (g *Gateway) admission() *admission { return g.admit }
