package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stickerd/stickerd/internal/localstack"
	"github.com/stickerd/stickerd/internal/reference"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
)

type options struct {
	rounds, renderRounds, conns int
	window                      time.Duration
	scratch, cpuprofile         string
	submit, render              bool
}

// mode is one way of running: tracing off, or on at a sample ratio.
type mode struct {
	name  string
	on    bool
	ratio float64
}

// The second "off" is the same set-up as the first: its cost against the
// first is the benchmark's own noise, the floor below which no cost of the
// others can be told from none.
var modes = []mode{{"off", false, 0}, {"off, again", false, 0}, {"on, ratio 1.0", true, 1}, {"on, ratio 0.01", true, 0.01}}

// results are what each mode measured, by mode name.
type results struct {
	submit map[string][]window // one per round
	render map[string][]render // one per round
	idle   map[string]float64  // the submit stack's CPU use at rest, CPU seconds per second
	spans  map[string]int64    // spans the mode's sink received
	// The share of each part's stack's CPU time spent in tracing code.
	submitShare, renderShare map[string]float64
}

// window is one window of submissions on a stack: the jobs accepted, the
// seconds they took to accept, and the stack's CPU time from the window's
// start until they had all succeeded, above its idle use.
type window struct {
	jobs       int64
	secs, busy float64
}

// render is one reference render: queued to finished, and the CPU time
// its stack and ffmpeg spent.
type render struct{ secs, cpu float64 }

func newResults() *results {
	return &results{submit: map[string][]window{}, render: map[string][]render{}, idle: map[string]float64{}, spans: map[string]int64{},
		submitShare: map[string]float64{}, renderShare: map[string]float64{}}
}

// run measures each part with the three modes' stacks running side by
// side, each in its own process, taking turns round by round.
func run(ctx context.Context, o options) (*results, error) {
	sinks := make([]*sink, len(modes))
	for i := range modes {
		s, err := startSink()
		if err != nil {
			return nil, err
		}
		defer s.stop()
		sinks[i] = s
	}
	base, err := os.MkdirTemp(o.scratch, "tracebench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(base)
	res := newResults()
	if o.submit {
		err := withStacks(ctx, o, base, "submit", true, sinks, res.submitShare, func(st []*stack) error { return measureSubmits(ctx, st, o, res) })
		if err != nil {
			return nil, err
		}
	}
	if o.render {
		source := filepath.Join(base, "source.mp4")
		if err := reference.WriteSource(ctx, "ffmpeg", source, 10); err != nil {
			return nil, err
		}
		err = withStacks(ctx, o, base, "render", false, sinks, res.renderShare, func(st []*stack) error { return measureRenders(ctx, st, source, o, res) })
		if err != nil {
			return nil, err
		}
	}
	for i, m := range modes {
		res.spans[m.name] = sinks[i].spans.Load()
	}
	return res, nil
}

// withStacks starts one stack per mode, runs fn, and stops them (their
// spans flushed to the sinks).
// Each stack's share of CPU time in tracing code goes into shares.
func withStacks(ctx context.Context, o options, base, part string, noop bool, sinks []*sink, shares map[string]float64, fn func([]*stack) error) error {
	var st []*stack
	var profiles []string
	defer func() {
		for _, s := range st {
			s.close()
		}
		for i, path := range profiles {
			if share, ok := tracingShare(path); ok {
				shares[modes[i].name] = share
			}
		}
	}()
	for i := range modes {
		a := childArgs{mode: i, noop: noop, dir: filepath.Join(base, fmt.Sprintf("%s-%d", part, i)),
			cache: filepath.Join(base, "cache"), sinkURL: sinks[i].addr}
		// Always profiled: the profile tells tracing's own share of the
		// CPU time (tracingShare).
		a.cpuprofile = filepath.Join(base, fmt.Sprintf("profile-%s-%d.pprof", part, i))
		if o.cpuprofile != "" {
			a.cpuprofile = fmt.Sprintf("%s-%s-%d.pprof", o.cpuprofile, part, i)
		}
		profiles = append(profiles, a.cpuprofile)
		s, err := startChild(ctx, a)
		if err != nil {
			return err
		}
		st = append(st, s)
	}
	return fn(st)
}

// order is the modes' turn in round r, from a Williams design: over its
// rounds (n of them for n modes, 2n when n is odd) each mode runs in each
// position, and right after each other mode, equally often, so that
// neither a cold start nor the work a mode leaves behind favours one.
func order(st []*stack, r int) []*stack {
	rows := williams(len(st))
	out := make([]*stack, len(st))
	for k, i := range rows[r%len(rows)] {
		out[k] = st[i]
	}
	return out
}

// williams is a Williams design for n treatments: first row 0, 1, n-1, 2,
// n-2, ...; each next row adds 1 (mod n); for odd n the rows reversed too.
func williams(n int) [][]int {
	first := make([]int, n)
	lo, hi := 1, n-1
	for k := 1; k < n; k++ {
		if k%2 == 1 {
			first[k], lo = lo, lo+1
		} else {
			first[k], hi = hi, hi-1
		}
	}
	var rows [][]int
	for r := range n {
		row := make([]int, n)
		for k, v := range first {
			row[k] = (v + r) % n
		}
		rows = append(rows, row)
	}
	if n%2 == 1 {
		for r := range n {
			rev := slices.Clone(rows[r])
			slices.Reverse(rev)
			rows = append(rows, rev)
		}
	}
	return rows
}

// quiet is how long a step of quiesce lasts, and how many steps in a row
// must be idle.
const (
	quietStep  = 100 * time.Millisecond
	quietSteps = 3
	quietMax   = 15 * time.Second
)

// stacksCPU is the stacks' CPU time together.
func stacksCPU(st []*stack) time.Duration {
	var t time.Duration
	for _, s := range st {
		c, _ := s.cpu()
		t += c
	}
	return t
}

// measureIdle sets each stack's idle: its CPU use when nobody asks it
// anything (etcd's ticks, the consumers' polls, an exporter's timer), in
// CPU time per second, over the same two seconds for all; and returns
// their sum.
func measureIdle(ctx context.Context, st []*stack) float64 {
	c0 := make([]time.Duration, len(st))
	for i, s := range st {
		c0[i], _ = s.cpu()
	}
	t0 := time.Now()
	sleep(ctx, 2*time.Second)
	el := time.Since(t0).Seconds()
	var sum float64
	for i, s := range st {
		c, _ := s.cpu()
		s.idle = (c - c0[i]).Seconds() / el
		sum += s.idle
	}
	return sum
}

// quiesce waits until the stacks are back to their idle use (under idle
// plus a twentieth of a core, for quietSteps steps in a row) or quietMax
// passed: the work a window leaves behind (spans still in an exporter's
// batch, garbage, etcd's compaction) is done before the next window, and
// weighs on no other mode's measurement.
func quiesce(ctx context.Context, st []*stack, idle float64) {
	limit := time.Duration((idle + 0.05) * float64(quietStep))
	last, quiet := stacksCPU(st), 0
	for deadline := time.Now().Add(quietMax); quiet < quietSteps && time.Now().Before(deadline); {
		if !sleep(ctx, quietStep) {
			return
		}
		now := stacksCPU(st)
		if now-last < limit {
			quiet++
		} else {
			quiet = 0
		}
		last = now
	}
}

// startStack starts a stack as `stickerd dev` wires it: one worker, with
// the no-op renderer (noop) or the real engine, the gateway without a
// rate limit or a practical queue limit, so that only the work of a
// submission bounds the rate; extra mounts paths beside the API.
func startStack(ctx context.Context, dir, cacheDir string, noop bool, extra func(*http.ServeMux)) (*localstack.Server, error) {
	return localstack.Start(ctx, dir, localstack.Options{
		Stack: func(cfg *wiring.Config) {
			cfg.Render.CacheDir = cacheDir
			if noop {
				cfg.Renderer = wiring.NoopRenderer{}
				cfg.Worker.Concurrency = 64
			} else {
				cfg.Worker.Concurrency = 1
			}
		},
		Gateway:     func(g *gateway.Config) { g.QueueDepthLimit = 1_000_000 },
		NoRateLimit: true,
		Handler: func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/", h)
			extra(mux)
			return mux
		},
	})
}

// measureSubmits runs o.rounds rounds; in each, every mode's stack in turn
// gets o.conns submissions in flight for one window, and then the time
// its jobs take to succeed (the no-op renderer) before the next stack's
// window: the rate is accepted submissions per second of the window, the
// CPU time the stack process spent from the window's start until its
// last job succeeded, per job. Each spec is new (a nonce in its
// metadata), so the result cache answers none of them.
func measureSubmits(ctx context.Context, st []*stack, o options, res *results) error {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 4 * o.conns, MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns, DisableCompression: true}}
	defer client.CloseIdleConnections()
	idle := measureIdle(ctx, st)
	for _, s := range st {
		res.idle[s.mode.name] = s.idle
	}
	var seq atomic.Int64
	for _, s := range st { // warm-up: connections, caches, the first requests
		if _, err := submitWindow(ctx, client, s, o.conns, o.window/4, &seq); err != nil {
			return err
		}
	}
	for r := range o.rounds {
		for _, s := range order(st, r) {
			quiesce(ctx, st, idle)
			w, err := submitWindow(ctx, client, s, o.conns, o.window, &seq)
			if err != nil {
				return fmt.Errorf("round %d, tracing %s: %w", r+1, s.mode.name, err)
			}
			res.submit[s.mode.name] = append(res.submit[s.mode.name], w)
		}
		fmt.Fprintf(os.Stderr, "tracebench: submit round %d/%d done\n", r+1, o.rounds)
	}
	return nil
}

// submitWindow is one window of load on s, until its jobs all succeeded.
func submitWindow(ctx context.Context, client *http.Client, s *stack, conns int, length time.Duration, seq *atomic.Int64) (window, error) {
	done0, err := s.succeeded(client)
	if err != nil {
		return window{}, err
	}
	c0, err := s.cpu()
	if err != nil {
		return window{}, err
	}
	var accepted, failed atomic.Int64
	wctx, stop := context.WithTimeout(ctx, length)
	defer stop()
	t0 := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wctx.Err() == nil {
				body := fmt.Sprintf(`{"source":{"color":"#102030","width":320,"height":240,"duration":1,"fps":10},
"stickers":[{"type":"text","text":"bench"}],"output":{"format":"mp4"},"metadata":{"n":"%d"}}`, seq.Add(1))
				// Not bound to wctx: a request under way when the window
				// ends is answered, and counted, rather than cut.
				resp, err := client.Post(s.url+"/v1/renders", "application/json", bytes.NewReader([]byte(body)))
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
	wg.Wait()
	elapsed := time.Since(t0)
	n := accepted.Load()
	if f := failed.Load(); f > n/100 {
		return window{}, fmt.Errorf("%d submissions failed (%d accepted)", f, n)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; {
		d, err := s.succeeded(client)
		if err != nil {
			return window{}, err
		}
		if d >= done0+n {
			break
		}
		if time.Now().After(deadline) {
			return window{}, fmt.Errorf("%d of %d jobs succeeded after 2 minutes", d-done0, n)
		}
		if !sleep(ctx, 10*time.Millisecond) {
			return window{}, ctx.Err()
		}
	}
	c1, err := s.cpu()
	if err != nil || n == 0 {
		return window{}, fmt.Errorf("no submission accepted in %s (%v)", length, err)
	}
	// What the stack spends anyway, asked or not, is not the jobs' cost
	// (the idle row shows it).
	busy := (c1 - c0).Seconds() - s.idle*time.Since(t0).Seconds()
	return window{jobs: n, secs: elapsed.Seconds(), busy: max(busy, 0)}, nil
}

// measureRenders renders the reference job o.renderRounds times on each
// mode's stack, the modes taking turns.
func measureRenders(ctx context.Context, st []*stack, source string, o options, res *results) error {
	idle := measureIdle(ctx, st)
	for r := range o.renderRounds {
		for _, s := range order(st, r) {
			quiesce(ctx, st, idle)
			secs, cpu, err := measureRender(ctx, s, source, r)
			if err != nil {
				return fmt.Errorf("render round %d, tracing %s: %w", r+1, s.mode.name, err)
			}
			res.render[s.mode.name] = append(res.render[s.mode.name], render{secs: secs, cpu: cpu})
		}
		fmt.Fprintf(os.Stderr, "tracebench: render round %d/%d done\n", r+1, o.renderRounds)
	}
	return nil
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
  "output": {"format": "mp4", "quality": "standard"},
  "metadata": {"round": "%d"}
}`

// measureRender uploads the source, renders the reference job (new in each
// round, so that the result cache answers none) through the
// gateway and returns its time from queued to finished, from the job's
// own timeline, and the CPU time the stack spent meanwhile, its ffmpeg
// runs included.
func measureRender(ctx context.Context, s *stack, source string, round int) (secs, cpu float64, err error) {
	base := s.url
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
	c0, err := s.cpu()
	if err != nil {
		return 0, 0, err
	}
	if err := call(client, http.MethodPost, base+"/v1/renders", "application/json", []byte(fmt.Sprintf(referenceSpec, asset.ID, round)), &job); err != nil {
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
	c1, err := s.cpu()
	if err != nil {
		return 0, 0, err
	}
	cpu = (c1 - c0).Seconds()
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
