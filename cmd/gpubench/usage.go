package main

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/stickerd/stickerd/internal/procstat"
)

// cpuTimes reads the machine's CPU counters (jiffies): busy and total.
func cpuTimes() (busy, total uint64, ok bool) {
	idle, total, ok := procstat.CPU()
	return total - idle, total, ok
}

// cpuMeter measures the whole machine's CPU use between start and stop
// (other processes included: the benchmark should have the machine).
type cpuMeter struct{ busy, total uint64 }

func startCPU() cpuMeter {
	b, t, _ := cpuTimes()
	return cpuMeter{b, t}
}

// stop returns the share of the machine's CPU time that was busy, 0..1,
// or -1 when /proc/stat cannot be read.
func (m cpuMeter) stop() float64 {
	b, t, ok := cpuTimes()
	if !ok || t <= m.total {
		return -1
	}
	return float64(b-m.busy) / float64(t-m.total)
}

// gpuUsage is nvidia-smi's utilisation, averaged over the samples taken
// while a stage ran (percent).
type gpuUsage struct {
	Samples int     `json:"samples"`
	GPU     float64 `json:"gpu_pct"`
	Encoder float64 `json:"encoder_pct"`
	Decoder float64 `json:"decoder_pct"`
	MemMiB  float64 `json:"memory_used_mib"` // the most seen
}

// gpuSampler runs nvidia-smi in its looping mode (every 500 ms) while a
// stage runs; without nvidia-smi it samples nothing.
type gpuSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	u      gpuUsage
}

func startGPU(ctx context.Context, smi string) *gpuSampler {
	s := &gpuSampler{done: make(chan struct{})}
	path, err := exec.LookPath(smi)
	if err != nil {
		close(s.done)
		s.cancel = func() {}
		return s
	}
	ctx, s.cancel = context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, path, "--query-gpu=utilization.gpu,utilization.encoder,utilization.decoder,memory.used",
		"--format=csv,noheader,nounits", "-lms", "500")
	out, err := cmd.StdoutPipe()
	if err != nil || cmd.Start() != nil {
		close(s.done)
		return s
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.add(sc.Text())
		}
		_ = cmd.Wait()
	}()
	return s
}

// add folds one nvidia-smi line ("37, 0, 12, 5120") into the average.
func (s *gpuSampler) add(line string) {
	f := strings.Split(line, ",")
	if len(f) < 4 {
		return
	}
	var v [4]float64
	for i := range v {
		x, err := strconv.ParseFloat(strings.TrimSpace(f[i]), 64)
		if err != nil {
			return // "[N/A]" on cards without the counter
		}
		v[i] = x
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := float64(s.u.Samples)
	s.u.GPU = (s.u.GPU*n + v[0]) / (n + 1)
	s.u.Encoder = (s.u.Encoder*n + v[1]) / (n + 1)
	s.u.Decoder = (s.u.Decoder*n + v[2]) / (n + 1)
	s.u.MemMiB = max(s.u.MemMiB, v[3])
	s.u.Samples++
}

// stop ends sampling; nil when there was no sample (no GPU).
func (s *gpuSampler) stop() *gpuUsage {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.u.Samples == 0 {
		return nil
	}
	u := s.u
	return &u
}

// cpuSeconds is the CPU time this process and its waited-for children
// (every ffmpeg) have used so far, user and system.
func cpuSeconds() float64 {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return sec(self.Utime) + sec(self.Stime) + sec(children.Utime) + sec(children.Stime)
}
