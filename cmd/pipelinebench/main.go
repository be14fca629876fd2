// Command pipelinebench drives the offline pipeline (state store on an
// embedded etcd, the embedded Kafka broker, a scheduler and two workers in
// one process) with a no-op renderer at rising submission rates, and
// prints, for each rate, accepted jobs/s, completed jobs/s, submit→running
// latency percentiles, etcd writes per job and where the time goes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/render/spec"
)

func main() {
	rates := flag.String("rates", "50,100,200,400,800,1600,3200", "submission rates to try, jobs/s")
	window := flag.Duration("window", 4*time.Second, "how long to submit at each rate")
	concurrency := flag.Int("worker-concurrency", 256, "slots per worker (the renderer does nothing)")
	scratch := flag.String("scratch", "/dev/shm", "folder for the workers' scratch files and the blob store (etcd stays on disk); empty: on disk too")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
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
	if err := run(ctx, parseRates(*rates), *window, *concurrency, *scratch); err != nil {
		fmt.Fprintln(os.Stderr, "pipelinebench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, rates []int, window time.Duration, conc int, scratch string) error {
	dir, err := os.MkdirTemp("", "pipelinebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := wiring.DefaultConfig(dir)
	where := "disk"
	if st, err := os.Stat(scratch); scratch != "" && err == nil && st.IsDir() {
		// The no-op renderer's placeholder files measure the file system,
		// not the pipeline: keep them off this VM's slow ext4 (~0.5 ms per
		// create). etcd's WAL stays on disk with fsync.
		sdir, err := os.MkdirTemp(scratch, "pipelinebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(sdir)
		cfg.Worker.WorkDir, cfg.BlobDir, where = sdir+"/work", sdir+"/blobs", scratch
	}
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		return err
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs = clients, peers
	cfg.KafkaListen, cfg.SchedulerListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Workers, cfg.Worker.Concurrency = 2, conc
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
	sp, err := spec.Parse([]byte(`{"source":{"color":"#000000","width":64,"height":64,"duration":1},
		"stickers":[{"type":"image","builtin":"heart"}]}`), spec.ParseOptions{})
	if err != nil {
		return err
	}
	// Warm up connections, the consumer group and etcd.
	if _, err := measure(ctx, s, timed, sp, 50, time.Second); err != nil {
		return err
	}
	fmt.Printf("pipeline: embedded etcd (1 member, WAL on disk, fsync on), embedded Kafka, 1 scheduler, 2 workers x %d slots, no-op renderer; worker scratch and blobs on %s\n", conc, where)
	fmt.Printf("each rate submits for %s; latencies are submit call start -> job recorded running\n\n", window)
	fmt.Println("| target/s | accepted/s | completed/s | submit->running p50 | p99 | max | errors | etcd writes/job | create p50 | publish p50 | recorded->running p50 |")
	fmt.Println("|---------:|-----------:|------------:|-------:|-------:|-------:|------:|------:|------:|------:|------:|")
	for _, r := range rates {
		res, err := measure(ctx, s, timed, sp, r, window)
		if err != nil {
			return err
		}
		fmt.Printf("| %8d | %10.0f | %11.0f | %6.1f ms | %6.1f ms | %6.1f ms | %5d | %5.2f | %5.1f ms | %5.1f ms | %5.1f ms |\n",
			r, res.accepted, res.completed, ms(res.p50), ms(res.p99), ms(res.max), res.errors, res.writesPerJob,
			ms(res.createP50), ms(res.publishP50), ms(res.queueP50))
	}
	return nil
}

type result struct {
	accepted, completed   float64
	p50, p99, max         time.Duration
	createP50, publishP50 time.Duration
	queueP50              time.Duration
	errors                int64
	writesPerJob          float64
}

// measure submits at rate for window (open loop: one submission every
// 1/rate, each in its own goroutine, so a slow submit does not slow the
// schedule), waits for every accepted job to finish, and computes the row.
func measure(ctx context.Context, s *wiring.Stack, timed *timing, sp *spec.Spec, rate int, window time.Duration) (result, error) {
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
	var errs atomic.Int64
	var wg sync.WaitGroup
	// Follow completions through a store watch rather than polling each
	// job, so the measurement does not load the store it measures.
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer wcancel()
	events, err := s.Store.WatchJobs(wctx, rev0+1)
	if err != nil {
		return result{}, err
	}
	terminal := map[jobs.ID]bool{}
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
			j, err := s.Submitter.Submit(ctx, "bench", sp)
			if err != nil {
				errs.Add(1)
				return
			}
			mu.Lock()
			subs = append(subs, sub{j.ID, t0})
			mu.Unlock()
		}()
	}
	wg.Wait()
	submitted := time.Since(begin)
	for len(terminal) < len(subs) {
		ev, ok := <-events
		if !ok {
			return result{}, fmt.Errorf("watch ended with %d of %d jobs finished", len(terminal), len(subs))
		}
		if ev.Job != nil && ev.Job.Status.Terminal() && ev.Job.Tenant == "bench" {
			terminal[ev.Job.ID] = true
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
