package main

import (
	"context"
	"io"
	"net/http"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadResult is one row: an open-loop run at a fixed rate.
type loadResult struct {
	target    int
	scheduled int           // rate × window
	sent      int           // requests started
	ok        int           // answered with the expected status
	fivexx    int           // answered 5xx
	other     int           // answered another status
	failed    int           // transport errors and timeouts
	dropped   int           // not sent: every connection was busy
	elapsed   time.Duration // first scheduled send to last answer
	p50, p99  time.Duration // from the scheduled send time to the last byte
	max       time.Duration
	// cpuPerReq is this process's CPU time (user + system, server and load
	// generator together) per request sent.
	cpuPerReq time.Duration
	cpuBusy   float64 // CPU time / wall time, in cores
}

func (r loadResult) okPerSec() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// sustained reports whether the run offered at least rate and 99.5% of its
// scheduled requests were answered as wanted (none dropped or failed).
func (r loadResult) sustained(rate int) bool {
	return r.target >= rate && float64(r.ok) >= 0.995*float64(r.scheduled)
}

// request sends request i and returns the HTTP status (0 on an error).
type request func(ctx context.Context, client *http.Client, i int) int

// openLoop sends rate requests a second for window, each at its own
// scheduled time and in its own goroutine, so a slow answer never delays
// the next send (no coordinated omission: latency counts from the
// scheduled time). At most conns are in flight; a request that finds none
// free is dropped and counted. It is bounded in count (rate × window), and
// in time by the client's timeout.
func openLoop(ctx context.Context, client *http.Client, conns, rate int, window time.Duration, want int, send request) loadResult {
	n := int(float64(rate) * window.Seconds())
	res := loadResult{target: rate, scheduled: n}
	lat := make([]time.Duration, 0, n)
	var (
		mu                        sync.Mutex
		ok, fivexx, other, failed atomic.Int64
		wg                        sync.WaitGroup
	)
	slots := make(chan struct{}, conns)
	cpu0 := cpuTime()
	interval := time.Second / time.Duration(rate)
	begin := time.Now()
	for i := range n {
		at := begin.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			res.dropped++
			continue
		}
		res.sent++
		wg.Add(1)
		go pprof.Do(ctx, pprof.Labels("side", "load generator"), func(ctx context.Context) {
			defer wg.Done()
			defer func() { <-slots }()
			status := send(ctx, client, i)
			took := time.Since(at)
			switch {
			case status == want:
				ok.Add(1)
			case status >= 500:
				fivexx.Add(1)
			case status == 0:
				failed.Add(1)
			default:
				other.Add(1)
			}
			mu.Lock()
			lat = append(lat, took)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(begin)
	cpu := cpuTime() - cpu0
	res.ok, res.fivexx, res.other, res.failed = int(ok.Load()), int(fivexx.Load()), int(other.Load()), int(failed.Load())
	if res.sent > 0 {
		res.cpuPerReq = cpu / time.Duration(res.sent)
	}
	res.cpuBusy = cpu.Seconds() / res.elapsed.Seconds()
	slices.Sort(lat)
	if len(lat) > 0 {
		res.p50, res.p99, res.max = pct(lat, 0.50), pct(lat, 0.99), lat[len(lat)-1]
	}
	return res
}

// do sends req and reads the answer to its end; it returns the status,
// or 0 when the request failed.
func do(client *http.Client, req *http.Request, body func([]byte)) int {
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if body != nil {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0
		}
		body(b)
	} else if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0
	}
	return resp.StatusCode
}

func pct(sorted []time.Duration, q float64) time.Duration {
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}

// cpuTime is this process's CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
