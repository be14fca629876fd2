package wiring

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/render/spec"
)

// testConfig is a stack on free loopback ports with timers short enough
// for tests.
func testConfig(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs = clients, peers
	cfg.Etcd.InitialCluster = ""
	cfg.KafkaListen = "127.0.0.1:0"
	cfg.SchedulerListen = "127.0.0.1:0"
	s := &cfg.Scheduler
	// Short enough for quick tests, long enough that a worker starved of
	// CPU by the rest of `make test` is not declared lost.
	s.HeartbeatInterval, s.HeartbeatTTL, s.HeartbeatGrace, s.HeartbeatJitter = 100*time.Millisecond, 1500*time.Millisecond, 300*time.Millisecond, 50*time.Millisecond
	s.ElectionTTL, s.SweepInterval, s.SweepAge = time.Second, 300*time.Millisecond, 500*time.Millisecond
	s.BackoffBase, s.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	cfg.Worker.ReconnectMin, cfg.Worker.ReconnectMax = 20*time.Millisecond, 200*time.Millisecond
	cfg.Worker.ResendAfter = 300 * time.Millisecond
	cfg.Worker.Concurrency = 1
	return cfg
}

func start(t *testing.T, cfg Config) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	waitFor(t, 20*time.Second, "a leader with workers", func() bool {
		l := s.Leader()
		return l != nil && len(l.Scheduler.Workers()) == len(s.Workers)
	})
	return s
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func submitJob(t *testing.T, s *Stack, js string) *jobs.Job {
	t.Helper()
	sp, err := spec.Parse([]byte(js), spec.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Submitter.Submit(context.Background(), "t1", sp)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func get(t *testing.T, s *Stack, id jobs.ID) *jobs.Job {
	t.Helper()
	j, err := s.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitTerminal polls the store until every job is terminal, and fails t
// when one is not within d.
func waitTerminal(t *testing.T, s *Stack, d time.Duration, ids ...jobs.ID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for _, id := range ids {
		for {
			j, err := s.Store.Get(ctx, id)
			if err == nil && j.Status.Terminal() {
				break
			}
			select {
			case <-ctx.Done():
				status := "unknown"
				if err == nil {
					status = string(j.Status)
				}
				t.Fatalf("job %s not terminal after %s: %s (%v)", id, d, status, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// ffmpegsUnder counts live ffmpeg processes whose command line names dir.
func ffmpegsUnder(dir string) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if filepath.Base(args[0]) == "ffmpeg" && strings.Contains(string(b), dir) {
			stat, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
			if !strings.Contains(string(stat), ") Z ") {
				n++
			}
		}
	}
	return n
}

// centre reads the RGB of the centre pixel of a video's frame n.
func centre(t *testing.T, path string, n, w, h int) [3]byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-vf", "select=eq(n\\,"+itoa(n)+")",
		"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	if err != nil || len(out) != w*h*3 {
		t.Fatalf("decoding %s: %v", path, err)
	}
	i := (h/2*w + w/2) * 3
	return [3]byte{out[i], out[i+1], out[i+2]}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

var _ = clock.Real{}

const smallJob = `{"source":{"color":"#0000FF","width":160,"height":120,"duration":1,"fps":10},
	"stickers":[{"type":"image","builtin":"heart","width":0.6}]}`

// longJob renders for several seconds on this machine.
const longJob = `{"source":{"color":"#000000","width":1280,"height":720,"duration":20,"fps":30},
	"stickers":[{"type":"image","builtin":"confetti","animation":"spin"}],"output":{"quality":"high"}}`

func trySubmit(s *Stack, js string) (*jobs.Job, error) {
	sp, err := spec.Parse([]byte(js), spec.ParseOptions{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Submitter.Submit(ctx, "t1", sp)
}
