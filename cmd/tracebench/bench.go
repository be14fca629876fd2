package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/tracing"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
)

type options struct {
	rounds, windows, conns int
	window                 time.Duration
	scratch                string
	submit, render         bool
}

// mode is one way of running: tracing off, or on at a sample ratio.
type mode struct {
	name  string
	on    bool
	ratio float64
}

var modes = []mode{{"off", false, 0}, {"on, ratio 1.0", true, 1}, {"on, ratio 0.01", true, 0.01}}

// results are what each mode measured: each series by mode name.
type results struct {
	submitRates map[string][]float64 // accepted submissions per second, one per window
	submitCPU   map[string][]float64 // this process's CPU time per accepted submission, µs, one per window
	renderSecs  map[string][]float64 // the reference render, queued to finished, seconds
	renderCPU   map[string][]float64 // CPU time of the render (this process and its ffmpeg), seconds
	spans       map[string]int64     // spans the sink received
}

func run(ctx context.Context, o options) (*results, error) {
	sink, err := startSink()
	if err != nil {
		return nil, err
	}
	defer sink.stop()
	base, err := os.MkdirTemp(o.scratch, "tracebench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(base)
	var source string
	if o.render {
		if source, err = makeSource(ctx, base); err != nil {
			return nil, err
		}
	}
	res := &results{submitRates: map[string][]float64{}, submitCPU: map[string][]float64{},
		renderSecs: map[string][]float64{}, renderCPU: map[string][]float64{}, spans: map[string]int64{}}
	for round := 1; round <= o.rounds; round++ {
		// Each round starts with another mode, so that no mode always runs
		// right after the same one (or first, on a cold machine).
		for k := range modes {
			i := (round - 1 + k) % len(modes)
			m := modes[i]
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			dir := filepath.Join(base, fmt.Sprintf("r%d-m%d", round, i))
			before := sink.spans.Load()
			err := runMode(ctx, o, m, sink.addr, dir, filepath.Join(base, "cache"), source, res)
			// The next mode starts as this one did: without the last
			// stack's files (etcd's preallocated WAL, in memory under
			// /dev/shm) or garbage.
			os.RemoveAll(dir)
			runtime.GC()
			if err != nil {
				return nil, fmt.Errorf("round %d, tracing %s: %w", round, m.name, err)
			}
			res.spans[m.name] += sink.spans.Load() - before
			fmt.Fprintf(os.Stderr, "tracebench: round %d/%d, tracing %s: done\n", round, o.rounds, m.name)
		}
	}
	return res, nil
}

// runMode starts tracing as m says and a fresh stack under dir, measures,
// and takes both down again (flushing the spans into the sink).
func runMode(ctx context.Context, o options, m mode, sinkAddr, dir, cacheDir, source string, res *results) error {
	stopTracing := func() {}
	if m.on {
		shutdown, err := tracing.Start(ctx, tracing.Config{Endpoint: sinkAddr, SampleRatio: m.ratio, Service: "tracebench"})
		if err != nil {
			return err
		}
		stopTracing = func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = shutdown(sctx)
		}
	}
	defer stopTracing()
	if o.submit {
		srv, err := startStack(ctx, filepath.Join(dir, "submit"), cacheDir, true)
		if err != nil {
			return err
		}
		rates, cpu, err := measureSubmits(ctx, srv.url, o)
		srv.close()
		if err != nil {
			return err
		}
		res.submitRates[m.name] = append(res.submitRates[m.name], rates...)
		res.submitCPU[m.name] = append(res.submitCPU[m.name], cpu...)
	}
	if o.render {
		srv, err := startStack(ctx, filepath.Join(dir, "render"), cacheDir, false)
		if err != nil {
			return err
		}
		secs, cpu, err := measureRender(ctx, srv.url, source)
		srv.close()
		if err != nil {
			return err
		}
		res.renderSecs[m.name] = append(res.renderSecs[m.name], secs)
		res.renderCPU[m.name] = append(res.renderCPU[m.name], cpu)
	}
	return nil
}

// server is a `stickerd dev` stack with its gateway on a loopback port.
type server struct {
	stack *wiring.Stack
	http  *http.Server
	url   string
	stop  context.CancelFunc
}

// startStack starts a stack as `stickerd dev` wires it: one worker, with
// the no-op renderer (noop) or the real engine, the gateway without a
// rate limit or a practical queue limit, so that only the work of a
// submission bounds the rate.
func startStack(ctx context.Context, dir, cacheDir string, noop bool) (*server, error) {
	cfg := wiring.DefaultConfig(dir)
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		return nil, err
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs = clients, peers
	cfg.KafkaListen, cfg.SchedulerListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	cfg.Render.CacheDir = cacheDir
	if noop {
		cfg.Renderer = wiring.NoopRenderer{}
		cfg.Worker.Concurrency = 64
	} else {
		cfg.Worker.Concurrency = 1
	}
	s, err := wiring.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	srv := &server{stack: s}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if l := s.Leader(); l != nil && len(l.Scheduler.Workers()) == len(s.Workers) {
			break
		}
		if time.Now().After(deadline) {
			srv.close()
			return nil, errors.New("no leading scheduler with its worker after 30s")
		}
	}
	g := gateway.DefaultConfig()
	g.Loopback, g.QueueDepthLimit = true, 1_000_000
	gctx, cancel := context.WithCancel(ctx)
	srv.stop = cancel
	co := wiring.Coord{Cache: s.Coord.Cache, Idempotency: s.Coord.Idempotency, Progress: s.Coord.Progress}
	gw, err := s.Gateway(wiring.GatewayOptions{Config: g, Coord: co, Context: gctx, Log: cfg.Log})
	if err != nil {
		srv.close()
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.close()
		return nil, err
	}
	srv.url = "http://" + lis.Addr().String()
	srv.http = health.NewServer(gw.Handler(), health.DefaultServerConfig())
	go srv.http.Serve(lis)
	return srv, nil
}

func (s *server) close() {
	if s.stop != nil {
		s.stop()
	}
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.http.Shutdown(ctx)
		cancel()
	}
	s.stack.Close()
}

// measureSubmits keeps o.conns submissions in flight and counts the
// accepted ones per window, after a warm-up, with the CPU time this
// process (gateway, etcd, broker, scheduler, worker and load generator
// alike) spent per accepted one: on a machine shared with other work the
// rate follows the neighbours' load, the CPU time per submission much
// less. Each spec is new (a nonce in its metadata), so the result cache
// answers none of them.
func measureSubmits(ctx context.Context, base string, o options) (rates, cpuPer []float64, err error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.conns, MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns, DisableCompression: true}}
	defer client.CloseIdleConnections()
	var accepted, failed atomic.Int64
	var seq atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"source":{"color":"#102030","width":320,"height":240,"duration":1,"fps":10},
"stickers":[{"type":"text","text":"bench"}],"output":{"format":"mp4"},"metadata":{"n":"%d"}}`, seq.Add(1))
				resp, err := client.Post(base+"/v1/renders", "application/json", bytes.NewReader([]byte(body)))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					accepted.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	sleep(ctx, 500*time.Millisecond) // warm-up: connections, caches, the JIT of the first requests
	for range o.windows {
		a0, t0, c0 := accepted.Load(), time.Now(), cpuTime(syscall.RUSAGE_SELF)
		if !sleep(ctx, o.window) {
			return nil, nil, ctx.Err()
		}
		n := accepted.Load() - a0
		rates = append(rates, float64(n)/time.Since(t0).Seconds())
		if n > 0 {
			cpuPer = append(cpuPer, (cpuTime(syscall.RUSAGE_SELF)-c0).Seconds()*1e6/float64(n))
		}
	}
	if n := failed.Load(); n > accepted.Load()/100 {
		return nil, nil, fmt.Errorf("%d submissions failed (%d accepted)", n, accepted.Load())
	}
	return rates, cpuPer, nil
}

// cpuTime is the user and system CPU time of this process (RUSAGE_SELF)
// or of its children that ended and were waited for (RUSAGE_CHILDREN: the
// ffmpeg runs).
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// makeSource writes the reference job's source: 10 s of 1280×720 at 30
// fps with audio.
func makeSource(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "source.mp4")
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=10",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=10",
		"-c:v", "libx264", "-preset", "medium", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("making the source: %v\n%s", err, b)
	}
	return src, nil
}

// referenceSpec is the reference job (cmd/renderbench's picture) over an
// uploaded source and the catalogue's heart and confetti.
const referenceSpec = `{
  "source": {"asset_id": %q},
  "stickers": [
    {"type": "image", "builtin": "heart", "x": 0.2, "y": 0.3, "width": 0.15,
     "keyframes": [{"t": 0, "x": 0.1}, {"t": 8, "x": 0.9, "easing": "ease-in-out"}]},
    {"type": "image", "builtin": "confetti", "x": 0.8, "y": 0.7, "width": 0.2},
    {"type": "text", "text": "Hello stickerd", "font": "sans", "size": 0.08, "color": "#FFFFFF",
     "stroke_color": "#000000", "stroke_width": 0.004, "x": 0.5, "y": 0.85}
  ],
  "output": {"format": "mp4", "quality": "standard"}
}`

// measureRender uploads the source, renders the reference job through the
// gateway and returns its time from queued to finished, from the job's
// own timeline, and the CPU time spent meanwhile by this process and its
// ffmpeg runs.
func measureRender(ctx context.Context, base, source string) (secs, cpu float64, err error) {
	client := &http.Client{Timeout: 30 * time.Second}
	b, err := os.ReadFile(source)
	if err != nil {
		return 0, 0, err
	}
	var asset struct{ ID string }
	if err := call(client, http.MethodPost, base+"/v1/assets", "video/mp4", b, &asset); err != nil {
		return 0, 0, fmt.Errorf("upload: %w", err)
	}
	var job struct {
		ID      string
		Status  string
		Error   any
		Timings struct {
			Queued   time.Time  `json:"queued"`
			Finished *time.Time `json:"finished"`
		}
	}
	c0 := cpuTime(syscall.RUSAGE_SELF) + cpuTime(syscall.RUSAGE_CHILDREN)
	if err := call(client, http.MethodPost, base+"/v1/renders", "application/json", []byte(fmt.Sprintf(referenceSpec, asset.ID)), &job); err != nil {
		return 0, 0, fmt.Errorf("submit: %w", err)
	}
	for deadline := time.Now().Add(5 * time.Minute); job.Timings.Finished == nil; {
		if time.Now().After(deadline) || !sleep(ctx, 50*time.Millisecond) {
			return 0, 0, fmt.Errorf("job %s still %s", job.ID, job.Status)
		}
		if err := call(client, http.MethodGet, base+"/v1/renders/"+job.ID, "", nil, &job); err != nil {
			return 0, 0, err
		}
	}
	if job.Status != "succeeded" {
		return 0, 0, fmt.Errorf("job %s %s: %v", job.ID, job.Status, job.Error)
	}
	cpu = (cpuTime(syscall.RUSAGE_SELF) + cpuTime(syscall.RUSAGE_CHILDREN) - c0).Seconds()
	return job.Timings.Finished.Sub(job.Timings.Queued).Seconds(), cpu, nil
}

// call sends a request and decodes a 2xx JSON answer into v.
func call(c *http.Client, method, url, ct string, body []byte, v any) error {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}
