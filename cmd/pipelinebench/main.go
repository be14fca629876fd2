// Command pipelinebench drives the offline pipeline (state store on an
// embedded etcd, the embedded Kafka broker, a scheduler and two workers in
// one process) with a no-op renderer at rising submission rates, and
// prints, for each rate, accepted jobs/s, shed jobs/s (503s), completed
// jobs/s, submit→running latency percentiles of the admitted jobs, etcd
// writes per job and where the time goes.
//
// Submissions go through the gateway's HTTP handler (POST /v1/renders,
// served in-process without a socket), so they meet the same admission
// (backpressure) as a client's; by default the gateway reads the queue
// depth the leader publishes in etcd, as a gateway in its own process
// does. With -overload it then offers 1x, 2x and 4x of the peak
// completed/s it measured, the overload rows.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/scheduler"
	"github.com/stickerd/stickerd/services/gateway"
)

// benchKey is the API key of the bench's tenant.
const benchKey = "pipelinebench-key"

// benchSpec is the render every submission asks for.
const benchSpec = `{"source":{"color":"#000000","width":64,"height":64,"duration":1},
	"stickers":[{"type":"image","builtin":"heart"}]}`

func main() {
	rates := flag.String("rates", "50,100,200,400,800,1600,3200", "submission rates to try, jobs/s")
	window := flag.Duration("window", 4*time.Second, "how long to submit at each rate")
	concurrency := flag.Int("worker-concurrency", 256, "slots per worker (the renderer does nothing)")
	scratch := flag.String("scratch", "/dev/shm", "folder for the workers' scratch files and the blob store (etcd stays on disk); empty: on disk too")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	overload := flag.Bool("overload", false, "after the rates, offer 1x, 2x and 4x of the peak completed/s measured")
	var o options
	flag.IntVar(&o.repeats, "repeats", 3, "with -overload, rounds of the 1x, 2x and 4x rows (medians are printed)")
	flag.IntVar(&o.queueLimit, "queue-limit", 500, "the gateway's QueueDepthLimit; 0: no limit (admission off)")
	flag.DurationVar(&o.signalLag, "signal-lag", gateway.DefaultConfig().QueueSignalLag, "the gateway's QueueSignalLag")
	flag.StringVar(&o.depth, "depth", "published", "the gateway's depth signal: published (etcd, as a gateway in its own process) or direct (the leader's queue)")
	flag.Parse()
	o.window, o.conc, o.scratch, o.overload = *window, *concurrency, *scratch, *overload
	if o.repeats < 1 {
		fmt.Fprintln(os.Stderr, "pipelinebench: -repeats must be at least 1")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, parseRates(*rates), o); err != nil {
		fmt.Fprintln(os.Stderr, "pipelinebench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type options struct {
	window     time.Duration
	conc       int
	scratch    string
	overload   bool
	repeats    int
	queueLimit int
	signalLag  time.Duration
	depth      string
}

func run(ctx context.Context, rates []int, o options) error {
	dir, err := os.MkdirTemp("", "pipelinebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := wiring.DefaultConfig(dir)
	where := "disk"
	if st, err := os.Stat(o.scratch); o.scratch != "" && err == nil && st.IsDir() {
		// The no-op renderer's placeholder files measure the file system,
		// not the pipeline: keep them off this VM's slow ext4 (~0.5 ms per
		// create). etcd's WAL stays on disk with fsync.
		sdir, err := os.MkdirTemp(o.scratch, "pipelinebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(sdir)
		cfg.Worker.WorkDir, cfg.BlobDir, where = sdir+"/work", sdir+"/blobs", o.scratch
	}
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		return err
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs = clients, peers
	cfg.KafkaListen, cfg.SchedulerListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Workers, cfg.Worker.Concurrency = 2, o.conc
	cfg.Renderer = wiring.NoopRenderer{}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := wiring.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	for s.Leader() == nil || len(s.Leader().Scheduler.Workers()) < 2 {
		time.Sleep(50 * time.Millisecond)
	}
	timed := &timing{store: s.Submitter.Store, pub: s.Submitter.Pub}
	s.Submitter.Store, s.Submitter.Pub = timed, timed
	h, err := benchGateway(s, o)
	if err != nil {
		return err
	}
	// Warm up connections, the consumer group and etcd.
	if _, err := measure(ctx, s, h, timed, 50, time.Second); err != nil {
		return err
	}
	limit := "off"
	if o.queueLimit > 0 {
		limit = fmt.Sprintf("%d jobs, signal lag %s, %s depth", o.queueLimit, o.signalLag, o.depth)
	}
	fmt.Printf("pipeline: embedded etcd (1 member, WAL on disk, fsync on), embedded Kafka, 1 scheduler, 2 workers x %d slots, no-op renderer; worker scratch and blobs on %s\n", o.conc, where)
	fmt.Printf("submissions: POST /v1/renders through the gateway's handler; queue limit %s\n", limit)
	fmt.Printf("each rate submits for %s; latencies are of admitted jobs, submit call start -> job recorded running\n\n", o.window)
	fmt.Println("| offered/s | accepted/s | shed/s | completed/s | steady completed/s | submit->running p50 | p99 | max | errors | etcd writes/job | create p50 | publish p50 | recorded->running p50 |")
	fmt.Println("|----------:|-----------:|-------:|------------:|------:|-------:|-------:|-------:|------:|------:|------:|------:|------:|")
	var peak float64
	for _, r := range rates {
		res, err := measure(ctx, s, h, timed, r, o.window)
		if err != nil {
			return err
		}
		peak = max(peak, res.steady)
		fmt.Printf("| %9d | %10.0f | %6.0f | %11.0f | %5.0f | %6.1f ms | %6.1f ms | %6.1f ms | %5d | %5.2f | %5.1f ms | %5.1f ms | %5.1f ms |\n",
			r, res.accepted, res.shed, res.completed, res.steady, ms(res.p50), ms(res.p99), ms(res.max), res.errors, res.writesPerJob,
			ms(res.createP50), ms(res.publishP50), ms(res.queueP50))
	}
	if !o.overload || peak == 0 {
		return nil
	}
	return overloadRows(ctx, s, h, timed, int(peak), o)
}

// overloadRows offers 1x, 2x and 4x of capacity (the peak steady
// completed/s of the rate rows), o.repeats rounds of the three in turn so
// that the machine's drift falls on each alike, and prints each
// multiple's medians. "of 1x" compares a multiple's steady completed/s
// with the 1x rows', measured the same way in the same rounds.
func overloadRows(ctx context.Context, s *wiring.Stack, h http.Handler, timed *timing, capacity int, o options) error {
	mults := []int{1, 2, 4}
	runs := make([][]result, len(mults))
	for round := 0; round < o.repeats; round++ {
		for i, x := range mults {
			res, err := measure(ctx, s, h, timed, capacity*x, o.window)
			if err != nil {
				return err
			}
			runs[i] = append(runs[i], res)
		}
	}
	med := func(rs []result, f func(result) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	steady := func(r result) float64 { return r.steady }
	base := med(runs[0], steady)
	fmt.Printf("\noverload: offered as a multiple of the capacity above (peak steady completed/s %d); medians of %d rounds of %s each\n\n", capacity, o.repeats, o.window)
	fmt.Println("| offered | offered/s | accepted/s | shed/s | steady completed/s | of 1x | of peak | each round's steady completed/s | submit->running p50 | p99 | max | errors |")
	fmt.Println("|--------:|----------:|-----------:|-------:|------:|------:|------:|:------|-------:|-------:|-------:|------:|")
	for i, x := range mults {
		rs := runs[i]
		var each []string
		var errs int64
		for _, r := range rs {
			each = append(each, fmt.Sprintf("%.0f", r.steady))
			errs += r.errors
		}
		st := med(rs, steady)
		fmt.Printf("| %6dx | %9d | %10.0f | %6.0f | %5.0f | %4.0f%% | %4.0f%% | %s | %6.1f ms | %6.1f ms | %6.1f ms | %5d |\n",
			x, capacity*x, med(rs, func(r result) float64 { return r.accepted }), med(rs, func(r result) float64 { return r.shed }),
			st, 100*st/base, 100*st/float64(capacity), strings.Join(each, ", "),
			med(rs, func(r result) float64 { return ms(r.p50) }), med(rs, func(r result) float64 { return ms(r.p99) }),
			med(rs, func(r result) float64 { return ms(r.max) }), errs)
	}
	return nil
}

// benchGateway builds the gateway the bench submits through: its tenant
// "bench", the queue limit of o, and the depth signal o names.
func benchGateway(s *wiring.Stack, o options) (http.Handler, error) {
	gcfg := gateway.DefaultConfig()
	gcfg.APIKeys = map[string]string{benchKey: "bench"}
	gcfg.QueueDepthLimit, gcfg.QueueSignalLag = 1<<30, o.signalLag
	if o.queueLimit > 0 {
		gcfg.QueueDepthLimit = o.queueLimit
	}
	var depth func() (int, error)
	switch o.depth {
	case "published":
		depth = scheduler.FollowQueueDepth(context.Background(), s.Client)
	case "direct":
		depth = func() (int, error) {
			if l := s.Leader(); l != nil {
				return l.Scheduler.QueueDepth(), nil
			}
			return 0, nil
		}
	default:
		return nil, fmt.Errorf("-depth %q: want published or direct", o.depth)
	}
	// Every shed is a 503, which the gateway logs at warn: keep the
	// bench's output to its tables.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	gw, err := wiring.NewGateway(s.Client, s.Store, s.Submitter, s.Blobs, depth,
		wiring.GatewayOptions{Config: gcfg, Errors: s.Errors, Log: quiet})
	if err != nil {
		return nil, err
	}
	return gw.Handler(), nil
}

// post submits the bench's render to h: the new job's id, or the status
// of a refusal.
func post(h http.Handler) (jobs.ID, int) {
	req := httptest.NewRequest(http.MethodPost, "/v1/renders", bytes.NewReader([]byte(benchSpec)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+benchKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		return "", rec.Code
	}
	var j struct {
		ID jobs.ID `json:"id"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &j) != nil || j.ID == "" {
		return "", http.StatusInternalServerError
	}
	return j.ID, rec.Code
}

type result struct {
	accepted, completed float64
	// steady is the completed/s while the rate was offered (after the
	// first second): the goodput the overload rows compare.
	steady                float64
	shed                  float64
	p50, p99, max         time.Duration
	createP50, publishP50 time.Duration
	queueP50              time.Duration
	errors                int64
	writesPerJob          float64
}

// measure submits at rate for window (open loop: one submission every
// 1/rate, each in its own goroutine, so a slow submit does not slow the
// schedule), waits for every accepted job to finish, and computes the row.
// A 503 is a shed submission; any other refusal is an error.
func measure(ctx context.Context, s *wiring.Stack, h http.Handler, timed *timing, rate int, window time.Duration) (result, error) {
	timed.reset()
	rev0, err := s.Store.Revision(ctx)
	if err != nil {
		return result{}, err
	}
	type sub struct {
		id    jobs.ID
		start time.Time
	}
	var mu sync.Mutex
	var subs []sub
	var errs, shed atomic.Int64
	var wg sync.WaitGroup
	// Follow completions through a store watch rather than polling each
	// job, so the measurement does not load the store it measures.
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer wcancel()
	events, err := s.Store.WatchJobs(wctx, rev0+1)
	if err != nil {
		return result{}, err
	}
	// Completions are timed as they arrive (the watch is read all along,
	// into a list), so the steady completed/s can count those inside the
	// submission window only.
	type done struct {
		id jobs.ID
		at time.Time
	}
	var dmu sync.Mutex
	var dones []done
	watchEnded := make(chan struct{})
	go func() {
		defer close(watchEnded)
		for ev := range events {
			if ev.Job != nil && ev.Job.Status.Terminal() && ev.Job.Tenant == "bench" {
				dmu.Lock()
				dones = append(dones, done{ev.Job.ID, time.Now()})
				dmu.Unlock()
			}
		}
	}()
	interval := time.Second / time.Duration(rate)
	begin := time.Now()
	n := int(window.Seconds() * float64(rate))
	for i := 0; i < n; i++ {
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			id, status := post(h)
			switch status {
			case http.StatusAccepted:
			case http.StatusServiceUnavailable:
				shed.Add(1)
				return
			default:
				errs.Add(1)
				return
			}
			mu.Lock()
			subs = append(subs, sub{id, t0})
			mu.Unlock()
		}()
	}
	wg.Wait()
	submitted := time.Since(begin)
	submitEnd := begin.Add(window)
	// The steady completed/s counts the completions between warm and the
	// end of the submissions: the pipeline's goodput while it is offered
	// the rate, without the ramp at the start or the drain of the backlog
	// after the last submission.
	warm := begin.Add(min(time.Second, window/4))
	terminal := map[jobs.ID]bool{}
	var steady int
	ended := false
	for seen := 0; ; {
		dmu.Lock()
		for _, d := range dones[seen:] {
			terminal[d.id] = true
			if !d.at.Before(warm) && !d.at.After(submitEnd) {
				steady++
			}
		}
		seen = len(dones)
		dmu.Unlock()
		if len(terminal) >= len(subs) {
			break
		}
		select {
		case <-watchEnded:
			if !ended { // read what it left first
				ended = true
				continue
			}
			return result{}, fmt.Errorf("watch ended with %d of %d jobs finished", len(terminal), len(subs))
		case <-time.After(20 * time.Millisecond):
		}
	}
	finished := time.Since(begin)
	rev1, _ := s.Store.Revision(ctx)
	var lat, queued []time.Duration
	for _, x := range subs {
		j, err := s.Store.Get(ctx, x.id)
		if err != nil || j.StartedAt == nil {
			continue
		}
		lat = append(lat, j.StartedAt.Sub(x.start))
		queued = append(queued, j.StartedAt.Sub(j.CreatedAt))
	}
	slices.Sort(lat)
	slices.Sort(queued)
	res := result{accepted: float64(len(subs)) / submitted.Seconds(), completed: float64(len(subs)) / finished.Seconds(),
		steady: float64(steady) / submitEnd.Sub(warm).Seconds(),
		shed:   float64(shed.Load()) / submitted.Seconds(),
		errors: errs.Load(), createP50: timed.p50(&timed.create), publishP50: timed.p50(&timed.publish)}
	if len(lat) > 0 {
		res.p50, res.p99, res.max = pct(lat, 0.5), pct(lat, 0.99), lat[len(lat)-1]
		res.queueP50 = pct(queued, 0.5)
		// The revisions between the two reads, less the bench's own gets (none write).
		res.writesPerJob = float64(rev1-rev0) / float64(len(subs))
	}
	return res, nil
}

func pct(xs []time.Duration, p float64) time.Duration {
	return xs[min(len(xs)-1, int(p*float64(len(xs))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func parseRates(s string) []int {
	var out []int
	var n int
	for _, c := range s + "," {
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
		} else if n > 0 {
			out = append(out, n)
			n = 0
		}
	}
	return out
}
