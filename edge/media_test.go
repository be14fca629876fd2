package edge_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

// timings records the edge's per-frame timings.
type timings struct {
	mu    sync.Mutex
	all   []edge.FrameTiming
	delay time.Duration // simulated extra processing time per frame
}

func (tm *timings) observe(ft edge.FrameTiming) {
	tm.mu.Lock()
	tm.all = append(tm.all, ft)
	d := tm.delay
	tm.mu.Unlock()
	time.Sleep(d)
}

func (tm *timings) snapshot() []edge.FrameTiming {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return append([]edge.FrameTiming(nil), tm.all...)
}

func TestEdge_KeyframeOnRequest(t *testing.T) {
	tm := &timings{}
	url, _ := rtctest.StartEdgeWith(t, rtctest.LoopbackConfig(), edge.Deps{FrameObserver: tm.observe})
	c := connect(t, url, 320, 240, func(f *rtc.Frame, n int) { rtctest.Gradient(f, n) })
	c.waitFor(5*time.Second, "a frame", func(r received) bool { return r.ok })
	time.Sleep(300 * time.Millisecond)
	before := len(tm.snapshot())
	if err := c.s.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(2*time.Second, func() bool {
		for _, ft := range tm.snapshot()[before:] {
			if ft.Keyframe {
				return true
			}
		}
		return false
	}) {
		t.Fatal("no keyframe after a PLI")
	}
	all := tm.snapshot()
	if !all[0].Keyframe {
		t.Error("the first frame sent was not a keyframe")
	}
}

func TestEdge_DropsFramesWhenBehind(t *testing.T) {
	tm := &timings{delay: 80 * time.Millisecond} // the edge manages ~12 of 30 fps
	url, _ := rtctest.StartEdgeWith(t, rtctest.LoopbackConfig(), edge.Deps{FrameObserver: tm.observe})
	c := connect(t, url, 320, 240, func(f *rtc.Frame, n int) { rtctest.Gradient(f, n) })
	sent := time.Now()
	var lastN uint16
	var lags []time.Duration
	for time.Since(sent) < 2*time.Second {
		r := c.next(2 * time.Second)
		if !r.ok {
			continue
		}
		if r.n <= lastN {
			t.Fatalf("frame %d after %d", r.n, lastN)
		}
		// Frames are sent every 33 ms from the start: n says when.
		lags = append(lags, time.Since(sent)-time.Duration(r.n-1)*time.Second/30)
		lastN = r.n
	}
	c.mu.Lock()
	all := append([]rtc.Stats(nil), c.stats...)
	c.mu.Unlock()
	if len(all) == 0 {
		t.Fatal("no stats")
	}
	s := all[len(all)-1]
	if s.FramesDropped == 0 || s.FPS > 20 {
		t.Fatalf("stats %+v: want drops and a lower frame rate", s)
	}
	// Dropping, not queueing: frames keep arriving about as late as the
	// processing takes, not later and later.
	last := lags[len(lags)-1]
	if last > 400*time.Millisecond {
		t.Fatalf("frames arrive %v late at the end (lags %v)", last, lags)
	}
}

func TestEdge_CongestionControlSetsTheBitrate(t *testing.T) {
	tm := &timings{}
	cfg := rtctest.LoopbackConfig()
	url, _ := rtctest.StartEdgeWith(t, cfg, edge.Deps{FrameObserver: tm.observe})
	c := connect(t, url, 320, 240, func(f *rtc.Frame, n int) { rtctest.Gradient(f, n) })
	if !waitUntil(5*time.Second, func() bool {
		c.drain()
		all := tm.snapshot()
		return len(all) > 0 && all[len(all)-1].BitrateKbps != cfg.StartBitrateKbps
	}) {
		t.Fatalf("the encoder stayed at the start bitrate (%d kbps)", cfg.StartBitrateKbps)
	}
	for _, ft := range tm.snapshot() {
		if ft.BitrateKbps < cfg.MinBitrateKbps || ft.BitrateKbps > cfg.MaxBitrateKbps {
			t.Fatalf("bitrate %d kbps outside [%d, %d]", ft.BitrateKbps, cfg.MinBitrateKbps, cfg.MaxBitrateKbps)
		}
	}
}
