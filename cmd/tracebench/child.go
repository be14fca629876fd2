package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/tracing"
)

// childArgs are what a stack process is started with: the mode (an index
// into modes), the renderer, its folders and the sink of its spans.
type childArgs struct {
	mode                            int
	noop                            bool
	dir, cache, sinkURL, cpuprofile string
}

// stack is a `stickerd dev` stack with tracing as one mode says, in a
// process of its own (this program, started with -child): tracing is
// chosen per process, and a process of its own lets the three modes run
// side by side, under the same load from the machine's other work, and
// lets each be charged its own CPU time.
type stack struct {
	mode  mode
	idle  float64 // CPU seconds per second at rest (measureIdle)
	url   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error
}

// startChild starts the stack process for a and waits until it serves.
func startChild(ctx context.Context, a childArgs) (*stack, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-child", strconv.Itoa(a.mode), "-child-dir", a.dir,
		"-child-cache", a.cache, "-child-sink", a.sinkURL, "-child-noop="+strconv.FormatBool(a.noop),
		"-child-cpuprofile", a.cpuprofile)
	cmd.Stderr = os.Stderr
	// A stack never outlives the benchmark, however it ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &stack{mode: modes[a.mode], cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "serving "); ok {
				ready <- u
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	select {
	case s.url = <-ready:
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("the %s stack ended before serving: %v", s.mode.name, err)
	case <-time.After(60 * time.Second):
		s.close()
		return nil, fmt.Errorf("the %s stack did not serve within 60s", s.mode.name)
	}
}

// close asks the stack to stop (its spans flushed first) and waits for it.
func (s *stack) close() {
	s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// cpu is the stack process's CPU time so far: its own, and that of its
// children it has waited for (ffmpeg), from /proc/<pid>/stat.
func (s *stack) cpu() (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which may hold spaces, in ( ).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, errors.New("short /proc stat")
	}
	var ticks int64
	for _, k := range []int{11, 12, 13, 14} { // utime stime cutime cstime (fields 14–17)
		n, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// clockTicks is the kernel's USER_HZ, 100 on every Linux platform Go
// supports.
const clockTicks = 100

// succeeded is how many jobs the stack's scheduler has recorded as
// succeeded (its stickerd_job_transitions_total counter).
func (s *stack) succeeded(c *http.Client) (int64, error) {
	resp, err := c.Get(s.url + succeededPath)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// succeededPath is the stack process's own endpoint beside the API.
const succeededPath = "/tracebench/succeeded"

// childMain is the stack process: tracing as its mode says, the stack,
// "serving <url>" on stdout, and the end when stdin closes.
func childMain(a childArgs) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopProfile, err := startProfile(a.cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	m := modes[a.mode]
	stopTracing := func() {}
	if m.on {
		shutdown, err := tracing.Start(ctx, tracing.Config{Endpoint: a.sinkURL, SampleRatio: m.ratio, Service: "tracebench"})
		if err != nil {
			return err
		}
		stopTracing = func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = shutdown(sctx)
		}
	}
	srv, err := startStack(ctx, a.dir, a.cache, a.noop, func(mux *http.ServeMux) {
		mux.HandleFunc(succeededPath, func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, succeededJobs())
		})
	})
	if err != nil {
		stopTracing()
		return err
	}
	fmt.Printf("serving %s\n", srv.URL)
	io.Copy(io.Discard, os.Stdin) // until the benchmark closes it
	srv.Close()
	stopTracing() // the spans left in the batch go to the sink
	return nil
}

// succeededJobs sums stickerd_job_transitions_total{state="succeeded"}
// over the priorities: a read of three counters, not of the registry, as
// it is polled while a window's jobs finish.
func succeededJobs() int64 {
	var n float64
	for _, p := range []jobs.Priority{jobs.High, jobs.Normal, jobs.Low} {
		var m dto.Metric
		if err := metrics.JobTransitions.WithLabelValues(string(jobs.Succeeded), string(p)).Write(&m); err != nil {
			return -1
		}
		n += m.GetCounter().GetValue()
	}
	return int64(n)
}
