package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

// singleResult is one size's measurement.
type singleResult struct {
	edge, decode, composite, encode, wait quantiles
	send                                  quantiles
	rtt                                   quantiles
	fps                                   float64
	others                                float64 // share of the cores other processes used
}

// warmup runs before measuring: connection, first keyframes, caches.
const warmup = 1500 * time.Millisecond

// single streams one w×h session for warmup+dur and measures it.
func single(ctx context.Context, url string, e *edge.Edge, w, h int, dur time.Duration, col *collector) (singleResult, error) {
	var mu sync.Mutex
	sentAt := map[uint16]time.Time{}
	var rtts []time.Duration
	measuring := false
	var first uint16 // the first frame sent while measuring
	opts := rtctest.Options(rtc.Callbacks{OnFrame: func(f *rtc.Frame) {
		n, ok := rtctest.ReadCounter(f)
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if t, sent := sentAt[n]; ok && sent && measuring && first != 0 && n >= first {
			rtts = append(rtts, now.Sub(t))
		}
	}})
	opts.Width, opts.Height, opts.BitrateKbps = w, h, bitrateFor(w, h)
	s, err := rtc.Connect(ctx, url, opts)
	if err != nil {
		return singleResult{}, err
	}
	defer s.Close()
	for i, st := range stickers {
		if err := s.AddSticker(ctx, fmt.Sprintf("s%d", i), st); err != nil {
			return singleResult{}, err
		}
	}
	f := rtc.NewFrame(w, h)
	var st0 cpuStat
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	start := time.Now()
	for n := 1; time.Since(start) < warmup+dur; n++ {
		if !measuring && time.Since(start) >= warmup {
			col.take()
			e.Load()
			st0 = readStat()
			mu.Lock()
			measuring, first = true, uint16(n)
			mu.Unlock()
		}
		paint(f, n)
		mu.Lock()
		sentAt[uint16(n)] = time.Now()
		mu.Unlock()
		if err := s.SendFrame(f); err != nil {
			return singleResult{}, err
		}
		select {
		case <-ctx.Done():
			return singleResult{}, ctx.Err()
		case <-tick.C:
		}
	}
	time.Sleep(200 * time.Millisecond) // the last frames' way back
	all := col.take()
	others := max(0, readStat().busySince(st0)-e.Load().CPU)
	mu.Lock()
	defer mu.Unlock()
	return singleResult{
		edge:      field(all, func(ft edge.FrameTiming) time.Duration { return ft.Total }),
		decode:    field(all, func(ft edge.FrameTiming) time.Duration { return ft.Decode }),
		composite: field(all, func(ft edge.FrameTiming) time.Duration { return ft.Composite }),
		encode:    field(all, func(ft edge.FrameTiming) time.Duration { return ft.Encode }),
		wait:      field(all, func(ft edge.FrameTiming) time.Duration { return ft.Wait }),
		send:      field(all, func(ft edge.FrameTiming) time.Duration { return ft.Send }),
		rtt:       quantilesOf(rtts),
		fps:       float64(len(rtts)) / dur.Seconds(), // frames sent in dur that came back
		others:    others,
	}, nil
}

// bitrateFor is the client's upload bitrate: about what a browser sends.
func bitrateFor(w, h int) int {
	if w*h >= 1280*720 {
		return 2500
	}
	return 1200
}

// collector gathers the edge's per-frame timings.
type collector struct {
	mu  sync.Mutex
	all []edge.FrameTiming
}

func (c *collector) observe(ft edge.FrameTiming) {
	c.mu.Lock()
	c.all = append(c.all, ft)
	c.mu.Unlock()
}

// take returns the timings since the last take and starts over.
func (c *collector) take() []edge.FrameTiming {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := c.all
	c.all = nil
	return all
}

type quantiles struct{ p50, p95 time.Duration }

func quantilesOf(d []time.Duration) quantiles {
	if len(d) == 0 {
		return quantiles{}
	}
	slices.Sort(d)
	return quantiles{edge.Percentile(d, 50), edge.Percentile(d, 95)}
}

// field picks one stage of every timing.
func field(all []edge.FrameTiming, f func(edge.FrameTiming) time.Duration) quantiles {
	d := make([]time.Duration, len(all))
	for i, ft := range all {
		d[i] = f(ft)
	}
	return quantilesOf(d)
}
