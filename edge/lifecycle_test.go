package edge_test

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/stickerd/stickerd/internal/vpx"
	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

// waitUntil polls cond for up to d.
func waitUntil(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func TestEdge_IdleSessionIsClosed(t *testing.T) {
	cfg := rtctest.LoopbackConfig()
	cfg.IdleTimeout, cfg.StatsInterval = 400*time.Millisecond, 100*time.Millisecond
	url, e := rtctest.StartEdge(t, cfg)
	gone := make(chan error, 1)
	opts := rtctest.Options(rtc.Callbacks{OnDisconnected: func(err error) { gone <- err }})
	s, err := rtc.Connect(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !waitUntil(3*time.Second, func() bool { return e.Load().Sessions == 0 }) {
		t.Fatal("the idle session is still open")
	}
	select {
	case err := <-gone:
		if err == nil {
			t.Fatal("OnDisconnected(nil) for a session the edge closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client never noticed")
	}
}

func TestEdge_CloseEndsEverySession(t *testing.T) {
	url, e := rtctest.StartEdge(t, rtctest.LoopbackConfig())
	var clients []*client
	for range 3 {
		clients = append(clients, connect(t, url, 320, 240, func(f *rtc.Frame, n int) { rtctest.Solid(f, 90, 128, 128) }))
	}
	for _, c := range clients {
		c.waitFor(5*time.Second, "a frame", func(r received) bool { return r.ok })
	}
	if n := e.Load().Sessions; n != 3 {
		t.Fatalf("%d sessions", n)
	}
	e.Close()
	if n := e.Load().Sessions; n != 0 {
		t.Fatalf("%d sessions after Close", n)
	}
	if n := vpx.Live(); n > 6 { // only the clients' codecs remain
		t.Fatalf("%d codec contexts live after Close", n)
	}
	resp, p, _ := send(t, "POST", url+"/v1/rtc/sessions", "application/sdp", offerSDP(t, true), nil)
	if resp.StatusCode != 503 || p.Code != "RTC_MEDIA_FAILED" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("POST after Close: %d %+v", resp.StatusCode, p)
	}
}

// rss is the process's resident set in bytes.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// settle collects garbage and hands free memory, Go's and the C heap's,
// back to the system, so that RSS shows what is really held.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
	vpx.ReleaseMemory()
	time.Sleep(100 * time.Millisecond)
}

func TestEdge_HundredSessionsLeakNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 110 sessions")
	}
	url, e := rtctest.StartEdge(t, rtctest.LoopbackConfig())
	// One session's worth of frames: connect, stream until a frame comes
	// back, close.
	run := func() error {
		got := make(chan struct{}, 1)
		opts := rtctest.Options(rtc.Callbacks{OnFrame: func(*rtc.Frame) {
			select {
			case got <- struct{}{}:
			default:
			}
		}})
		opts.Width, opts.Height = 320, 240
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := rtc.Connect(ctx, url, opts)
		if err != nil {
			return err
		}
		defer s.Close()
		f := rtc.NewFrame(320, 240)
		for i := 0; ; i++ {
			rtctest.Gradient(f, i)
			if err := s.SendFrame(f); err != nil {
				return err
			}
			select {
			case <-got:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(30 * time.Millisecond):
			}
		}
	}
	batch := func(n int) {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- run() }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	batch(10) // warm up: lazy pools, caches, first-use allocations
	waitUntil(2*time.Second, func() bool { return e.Load().Sessions == 0 })
	settle()
	g0, m0, c0 := runtime.NumGoroutine(), rss(t), vpx.CHeapInUse()
	for range 10 {
		batch(10)
	}
	if !waitUntil(5*time.Second, func() bool { return e.Load().Sessions == 0 && vpx.Live() == 0 }) {
		t.Fatalf("%d sessions and %d codec contexts still open", e.Load().Sessions, vpx.Live())
	}
	var g1 int
	waitUntil(5*time.Second, func() bool { g1 = runtime.NumGoroutine(); return g1 <= g0+5 })
	settle()
	m1, c1 := rss(t), vpx.CHeapInUse()
	t.Logf("goroutines %d → %d, RSS %.1f → %.1f MiB, C heap in use %.2f → %.2f MiB", g0, g1,
		float64(m0)/(1<<20), float64(m1)/(1<<20), float64(c0)/(1<<20), float64(c1)/(1<<20))
	if g1 > g0+5 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines grew from %d to %d:\n%s", g0, g1, buf[:runtime.Stack(buf, true)])
	}
	if m1-m0 > 24<<20 && !raceEnabled {
		t.Errorf("RSS grew by %.1f MiB over 100 sessions", float64(m1-m0)/(1<<20))
	}
	if c1-c0 > 2<<20 { // one leaked 320x240 VP8 context is about 1 MiB
		t.Errorf("the C heap grew by %.2f MiB over 100 sessions", float64(c1-c0)/(1<<20))
	}
}

func TestEdge_VanishedPeerIsClosed(t *testing.T) {
	cfg := rtctest.LoopbackConfig()
	cfg.IdleTimeout = time.Minute // it must not be the idle timeout that ends it
	url, e := rtctest.StartEdge(t, cfg)
	pc, offer := newPeer(t, true)
	resp, _, answer := send(t, "POST", url+"/v1/rtc/sessions", "application/sdp", offer, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, answer)
	}
	connected := make(chan struct{})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(5 * time.Second):
		t.Fatal("not connected")
	}
	pc.Close() // gone without a DELETE
	if !waitUntil(5*time.Second, func() bool { return e.Load().Sessions == 0 }) {
		t.Fatal("the edge kept the session of a peer that left")
	}
}
