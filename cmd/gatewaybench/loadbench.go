package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/stickerd/stickerd/internal/localstack"
	"github.com/stickerd/stickerd/internal/sharedstate"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
)

// loadOptions shape the load benchmark.
type loadOptions struct {
	submitRates, readRates []int
	window                 time.Duration
	conns                  int
	scratch, profileDir    string
}

// loadRun is the load benchmark's server, client and measurements.
type loadRun struct {
	o        loadOptions
	srv      *localstack.Server
	client   *http.Client
	timer    *serverTimer
	timed    *timing
	ids      *idList
	accepted int // jobs in the store
	profDir  string
	keep     bool // profiles stay in profDir
}

// loadBench starts a stack with the no-op renderer behind its gateway and
// drives GET /v1/renders/{id} over a small store, POST /v1/renders, and
// GET again over the store the submissions grew, each at rising rates.
func loadBench(ctx context.Context, o loadOptions) error {
	dir, err := os.MkdirTemp("", "gatewaybench-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	where, work := "disk", dir
	if st, err := os.Stat(o.scratch); o.scratch != "" && err == nil && st.IsDir() {
		// Placeholder outputs measure the file system, not the service:
		// keep them off slow disks. etcd's WAL stays on disk, fsync on.
		if work, err = os.MkdirTemp(o.scratch, "gatewaybench-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
		where = o.scratch
	}
	lr := &loadRun{o: o, timer: &serverTimer{}, ids: &idList{}, client: tunedClient(o.conns, 10*time.Second), profDir: o.profileDir}
	lr.srv, err = localstack.Start(ctx, dir, localstack.Options{WebUI: true, Handler: lr.timer.wrap, Stack: func(c *wiring.Config) {
		c.Renderer = wiring.NoopRenderer{}
		c.Workers, c.Worker.Concurrency = 2, 256
		c.Worker.WorkDir, c.BlobDir = filepath.Join(work, "work"), filepath.Join(work, "blobs")
		c.Coord = sharedstate.DefaultConfig()
		c.Coord.RateLimit = sharedstate.RateLimit{Rate: 1e6, Burst: 1_000_000}
	}, Gateway: func(g *gateway.Config) { g.QueueDepthLimit = 1 << 30 }})
	if err != nil {
		return err
	}
	defer lr.srv.Close()
	if err := loopbackOnly(lr.srv.URL); err != nil {
		return err
	}
	if lr.keep = lr.profDir != ""; !lr.keep {
		if lr.profDir, err = os.MkdirTemp("", "gatewaybench-pprof-"); err != nil {
			return err
		}
		defer os.RemoveAll(lr.profDir)
	} else if err := os.MkdirAll(lr.profDir, 0o755); err != nil {
		return err
	}
	s := lr.srv.Stack
	lr.timed = &timing{store: s.Submitter.Store, pub: s.Submitter.Pub}
	s.Submitter.Store, s.Submitter.Pub = lr.timed, lr.timed
	// Seed jobs to read; this also warms the connections, etcd and Kafka.
	lr.accepted += openLoop(ctx, lr.client, o.conns, 500, 2*time.Second, http.StatusAccepted, lr.submitOne).ok
	drain(s, time.Minute)

	fmt.Printf("## 2. Gateway under load over HTTP (127.0.0.1)\n\n")
	fmt.Printf("stickerd dev stack in this process: embedded etcd (1 member, WAL on disk, fsync on), embedded Kafka, 1 scheduler, "+
		"2 workers x 256 slots with the no-op renderer (outputs on %s); rate limit %g/s per tenant, queue-depth limit off; "+
		"the load generator shares the process and its %d CPUs; open loop, %s per rate, at most %d connections; "+
		"latency from the scheduled send to the last byte; the pipeline drains between submission rates\n\n",
		where, 1e6, numCPU(), o.window, o.conns)
	if err := lr.readTable(ctx, "read-small"); err != nil {
		return err
	}
	if err := lr.submitTable(ctx); err != nil {
		return err
	}
	return lr.readTable(ctx, "read-large")
}

func (lr *loadRun) submitOne(ctx context.Context, c *http.Client, i int) int {
	body := `{"source":{"color":"#000000","width":64,"height":64,"duration":1},"stickers":[{"type":"image","builtin":"heart"}],` +
		`"metadata":{"bench":"` + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(i) + `"}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, lr.srv.URL+"/v1/renders", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	return do(c, req, lr.ids.collect)
}

func (lr *loadRun) readOne(ctx context.Context, c *http.Client, i int) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, lr.srv.URL+"/v1/renders/"+lr.ids.at(i), nil)
	return do(c, req, nil)
}

const (
	tableHeader = "| target/s | sent | %s/s | p50 | p99 | max | 5xx | other | errors | dropped | server p50 | server p99 | %s | CPU/request | CPU busy |\n"
	tableRule   = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
)

func (lr *loadRun) row(r loadResult, extra string) {
	sp50, sp99 := lr.timer.percentiles()
	fmt.Printf("| %d | %d | %.0f | %.1f ms | %.1f ms | %.1f ms | %d | %d | %d | %d | %.2f ms | %.1f ms | %s | %.2f ms | %.2f cores |\n",
		r.target, r.sent, r.okPerSec(), ms(r.p50), ms(r.p99), ms(r.max), r.fivexx, r.other, r.failed, r.dropped,
		ms(sp50), ms(sp99), extra, ms(r.cpuPerReq), r.cpuBusy)
}

func (lr *loadRun) submitTable(ctx context.Context) error {
	fmt.Printf("### POST /v1/renders (202 = accepted), starting with %d jobs in the store\n\n", lr.accepted)
	fmt.Printf(tableHeader, "accepted", "etcd create p50 / p99, Kafka publish p50 / p99")
	fmt.Print(tableRule)
	t := lr.timed
	goal := "target: a rate >= 2,000/s sustained (99.5% of the scheduled requests answered 202) with p99 < 50 ms and no 5xx"
	return phase(lr.profDir, lr.keep, "submit", goal, lr.o.submitRates, 2000, func(rate int) bool {
		lr.timer.reset()
		t.reset()
		r := openLoop(ctx, lr.client, lr.o.conns, rate, lr.o.window, http.StatusAccepted, lr.submitOne)
		lr.accepted += r.ok
		lr.row(r, fmt.Sprintf("%.1f / %.1f ms, %.1f / %.1f ms", ms(t.pct(&t.create, 0.5)), ms(t.pct(&t.create, 0.99)),
			ms(t.pct(&t.publish, 0.5)), ms(t.pct(&t.publish, 0.99))))
		return r.sustained(2000) && r.p99 < 50*time.Millisecond && r.fivexx == 0
	}, func() { drain(lr.srv.Stack, time.Minute) })
}

func (lr *loadRun) readTable(ctx context.Context, name string) error {
	openLoop(ctx, lr.client, lr.o.conns, 1000, time.Second, http.StatusOK, lr.readOne) // warm-up
	fmt.Printf("### GET /v1/renders/{id} (200), %d jobs in the store, reading %d of them\n\n", lr.accepted, lr.ids.len())
	fmt.Printf(tableHeader, "reads", "-")
	fmt.Print(tableRule)
	goal := "target: a rate >= 10,000/s sustained (99.5% of the scheduled requests answered 200) with no 5xx"
	return phase(lr.profDir, lr.keep, name, goal, lr.o.readRates, 10000, func(rate int) bool {
		lr.timer.reset()
		r := openLoop(ctx, lr.client, lr.o.conns, rate, lr.o.window, http.StatusOK, lr.readOne)
		lr.row(r, "-")
		return r.sustained(10000) && r.fivexx == 0
	}, nil)
}

// phase runs one table: a row per rate (after each, settle when not nil).
// The row at the first rate that reaches target runs under a CPU profile;
// when no row meets the target, where that row's time went is printed.
func phase(dir string, keep bool, name, goal string, rates []int, target int, row func(rate int) (met bool), settle func()) error {
	profiledRate := 0
	for _, r := range rates {
		if r >= target {
			profiledRate = r
			break
		}
	}
	met, path := false, ""
	var took time.Duration
	for _, rate := range rates {
		ok := false
		if rate == profiledRate {
			t0 := time.Now()
			var err error
			if path, err = profileRow(dir, fmt.Sprintf("%s-%d", name, rate), func() { ok = row(rate) }); err != nil {
				return err
			}
			took = time.Since(t0)
		} else {
			ok = row(rate)
		}
		met = met || ok
		if settle != nil {
			settle()
		}
	}
	fmt.Printf("\n%s: %s\n", goal, verdict(met))
	if !met && path != "" {
		shown := "-profile-dir keeps it"
		if keep {
			shown = path
		}
		explain(path, shown, fmt.Sprintf("%d requests/s", profiledRate), took.Seconds())
	}
	fmt.Println()
	return nil
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

// drain waits (bounded) until the pipeline has no job queued or running.
func drain(s *wiring.Stack, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		busy := false
		if l := s.Leader(); l == nil || l.Scheduler.QueueDepth() > 0 {
			busy = true
		}
		for _, w := range s.Workers {
			busy = busy || len(w.Worker.Running()) > 0
		}
		if !busy {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// idList keeps the ids of accepted jobs, for the read load.
type idList struct {
	mu  sync.Mutex
	ids []string
}

func (l *idList) collect(body []byte) {
	l.mu.Lock()
	full := len(l.ids) >= 5000
	l.mu.Unlock()
	if full {
		return
	}
	var j struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &j) == nil && j.ID != "" {
		l.mu.Lock()
		l.ids = append(l.ids, j.ID)
		l.mu.Unlock()
	}
}

func (l *idList) at(i int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ids) == 0 {
		return "job_none"
	}
	return l.ids[i%len(l.ids)]
}

func (l *idList) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids)
}
