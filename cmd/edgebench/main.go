// Command edgebench measures the realtime edge on loopback: per-frame edge
// processing (decode, composite, encode) and client round-trip latency for
// one session at 640×480 and 1280×720, 30 fps, with three stickers (a
// rotated PNG, a stroked text with emoji, an animated GIF), and then how
// many 640×480 sessions one edge holds at 30 fps, ramping sessions until
// the frame rate or the processing time gives out. The edge and its
// clients share this machine's cores; it prints tables.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

func main() {
	dur := flag.Duration("duration", 8*time.Second, "measured time per single-session size")
	step := flag.Duration("step", 4*time.Second, "measured time per ramp step")
	maxSessions := flag.Int("max-sessions", 24, "stop the ramp here")
	budget := flag.Duration("budget", 33*time.Millisecond, "edge p95 above which the ramp stops")
	sizes := flag.String("sizes", "640x480,1280x720", "single-session frame sizes (empty: skip)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *dur, *step, *maxSessions, *budget, *sizes); err != nil {
		fmt.Fprintln(os.Stderr, "edgebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, dur, step time.Duration, maxSessions int, budget time.Duration, sizes string) error {
	col := &collector{}
	cfg := edge.DefaultConfig()
	cfg.MaxSessions, cfg.MaxSessionsPerTenant = max(cfg.MaxSessions, maxSessions+2), max(cfg.MaxSessionsPerTenant, maxSessions+2)
	e, err := edge.New(cfg, edge.Deps{FrameObserver: col.observe}, nil)
	if err != nil {
		return err
	}
	defer e.Close()
	mux := http.NewServeMux()
	e.Routes(mux)
	srv := httptest.NewServer(mux) // 127.0.0.1
	defer srv.Close()

	fmt.Fprintf(out, "edgebench: %d CPUs (%s), %s, load average %s; edge and clients in one process on 127.0.0.1\n\n",
		runtime.NumCPU(), cpuModel(), runtime.Version(), loadAvg())
	fmt.Fprintf(out, "Single session, 30 fps, 3 stickers (rotated PNG, stroked text with emoji, animated GIF), %v measured\n", dur)
	fmt.Fprintln(out, "size       edge p50  edge p95   round trip p50  p95       fps    | decode p50/p95   composite p50/p95  encode p50/p95   send p50/p95     wait p95  others")
	for _, sz := range strings.FieldsFunc(sizes, func(r rune) bool { return r == ',' }) {
		var w, h int
		if _, err := fmt.Sscanf(sz, "%dx%d", &w, &h); err != nil {
			return fmt.Errorf("size %q: %w", sz, err)
		}
		var r singleResult
		for try := 0; try < quietTries; try++ { // keep the quietest try on a shared machine
			m, err := single(ctx, srv.URL, e, w, h, dur, col)
			if err != nil {
				return fmt.Errorf("%s: %w", sz, err)
			}
			if try == 0 || m.others < r.others {
				r = m
			}
			if r.others <= maxOthers {
				break
			}
		}
		fmt.Fprintf(out, "%-10s %-9s %-10s %-15s %-9s %-6.1f | %-16s %-18s %-16s %-16s %-9s %3.0f%%\n", sz,
			msf(r.edge.p50), msf(r.edge.p95), msf(r.rtt.p50), msf(r.rtt.p95), r.fps,
			pair(r.decode), pair(r.composite), pair(r.encode), pair(r.send), msf(r.wait.p95), r.others*100)
	}
	fmt.Fprintln(out, "targets: round-trip p95 < 50 ms at 640x480; edge processing p95 < 10 ms")
	fmt.Fprintln(out, "(others: share of the cores other processes used meanwhile; a step is measured up to 4 times for a quiet one)")
	fmt.Fprintln(out)

	fmt.Fprintf(out, "Capacity ramp: 640x480 sessions at 30 fps, 3 stickers each, clients send pre-encoded VP8 and count what comes back, %v per step\n", step)
	fmt.Fprintln(out, "sessions  edge fps mean/min  back fps  edge p50  edge p95  | decode p95  encode p95  wait p95 | this process  other processes  steal")
	steps, err := ramp(ctx, srv.URL, e, col, maxSessions, step, budget)
	if err != nil {
		return err
	}
	held, within := 0, 0
	for _, s := range steps {
		fmt.Fprintf(out, "%-9d %5.1f / %-11.1f %-9.1f %-9s %-9s | %-11s %-11s %-8s | %3.0f%%          %3.0f%%             %2.0f%%\n", s.sessions, s.meanFPS, s.minFPS, s.backFPS,
			msf(s.edge.p50), msf(s.edge.p95), msf(s.decode.p95), msf(s.encode.p95), msf(s.wait.p95), s.cpu*100, s.others()*100, s.steal*100)
		if s.meanFPS >= 28 && s.minFPS >= 25 && s.edge.p95 <= budget {
			held = s.sessions
			if s.edge.p95 <= 10*time.Millisecond {
				within = s.sessions
			}
		}
	}
	fmt.Fprintf(out, "held: %d sessions at >= 28 fps with edge p95 <= %v (%d within the 10 ms target)\n", held, budget, within)
	return nil
}

func msf(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func pair(q quantiles) string {
	return fmt.Sprintf("%.2f/%.2f ms", float64(q.p50)/float64(time.Millisecond), float64(q.p95)/float64(time.Millisecond))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// paint draws frame n of a synthetic scene: a moving luma ramp with a
// textured square crossing it (so that the encoder has motion and detail
// to code), then stamps n into the corner.
func paint(f *rtc.Frame, n int) {
	rtctest.Gradient(f, n*2)
	side := f.Height / 3
	x0 := (n * 6) % max(1, f.Width-side)
	y0 := f.Height / 3
	for y := y0; y < y0+side; y++ {
		row := f.Y[y*f.Width:]
		for x := x0; x < x0+side; x++ {
			v := byte(40)
			if ((x-x0)/8+(y-y0)/8)%2 == 0 {
				v = 200
			}
			row[x] = v ^ byte((x*7+y*13)&15)
		}
	}
	rtctest.StampCounter(f, uint16(n))
}

// stickers are the three stickers every benchmark session carries.
var stickers = []rtc.Sticker{
	{Type: "image", Builtin: "heart", X: rtc.F(0.3), Y: rtc.F(0.6), Width: rtc.F(0.25), Rotation: rtc.F(15)},
	{Type: "text", Text: "Live! 🎉", X: rtc.F(0.5), Y: rtc.F(0.85), StrokeWidth: rtc.F(0.005), Opacity: rtc.F(0.9)},
	{Type: "image", Builtin: "confetti", X: rtc.F(0.75), Y: rtc.F(0.35), Width: rtc.F(0.3)},
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
