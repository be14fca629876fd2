package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
)

// parts name where a CPU sample ran, tried in order: the first whose
// label or stack marker matches takes the sample.
var parts = []struct{ name, label, marker string }{
	// Goroutines inherit labels: the client's connection goroutines,
	// started by a labelled sender, carry its label.
	{"load generator (requests and its HTTP client connections)", "load generator", ""},
	{"gateway handlers (auth, parsing, etcd client calls, JSON)", "gateway handler", ""},
	{"load generator (requests and its HTTP client connections)", "", "net/http.(*persistConn)"},
	{"gateway: HTTP connections (read, parse, write)", "", "net/http.(*conn).serve"},
	{"etcd server (raft, WAL, MVCC, its gRPC handlers)", "", "go.etcd.io/etcd/server"},
	{"scheduler", "", "github.com/stickerd/stickerd/scheduler"},
	{"workers and the no-op renderer", "", "github.com/stickerd/stickerd/worker"},
	{"Kafka: embedded broker and clients", "", "twmb/franz-go"},
	{"Kafka: embedded broker and clients", "", "segmentio/kafka-go"},
	{"etcd client (watches, leases, gRPC)", "", "go.etcd.io/etcd/client"},
	{"gRPC transports", "", "google.golang.org/grpc"},
	{"Go garbage collector", "", "runtime.gcBgMarkWorker"},
	{"Go garbage collector", "", "runtime.bgsweep"},
	{"Go garbage collector", "", "runtime.bgscavenge"},
}

// share is one part's CPU time in a profile.
type share struct {
	name  string
	nanos int64
}

// profileRow runs fn under a CPU profile written to dir/name.pprof.
func profileRow(dir, name string, fn func()) (string, error) {
	path := filepath.Join(dir, name+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return "", err
	}
	fn()
	pprof.StopCPUProfile()
	return path, nil
}

// breakdown sums a CPU profile's samples by part, largest first, from the
// text of `go tool pprof -raw`.
func breakdown(path string) ([]share, int64, error) {
	raw, err := exec.Command("go", "tool", "pprof", "-raw", path).Output()
	if err != nil {
		return nil, 0, fmt.Errorf("go tool pprof -raw: %w", err)
	}
	type sample struct {
		nanos int64
		locs  []string
		label string
	}
	var samples []sample
	funcs := map[string]string{} // location id → its functions, inlined ones too
	section, loc := "", ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case line == "Samples:" || line == "Locations" || line == "Mappings":
			section = line
		case section == "Samples:" && strings.HasPrefix(trimmed, "side:["):
			if n := len(samples); n > 0 {
				samples[n-1].label = strings.TrimSuffix(strings.TrimPrefix(trimmed, "side:["), "]")
			}
		case section == "Samples:":
			head, ids, ok := strings.Cut(trimmed, ":")
			fields := strings.Fields(head)
			if !ok || len(fields) != 2 {
				continue
			}
			nanos, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				continue
			}
			samples = append(samples, sample{nanos: nanos, locs: strings.Fields(ids)})
		case section == "Locations":
			f := strings.Fields(trimmed)
			switch {
			case len(f) >= 4 && strings.HasSuffix(f[0], ":"): // "12: 0xaddr M=1 func file:line s=…"
				loc = strings.TrimSuffix(f[0], ":")
				funcs[loc] = f[3]
			case len(f) >= 1 && loc != "": // an inlined function of the location above
				funcs[loc] += " " + f[0]
			}
		}
	}
	sums := map[string]int64{}
	var total int64
	for _, s := range samples {
		stack := make([]string, len(s.locs))
		for i, id := range s.locs {
			stack[i] = funcs[id]
		}
		all := strings.Join(stack, " ")
		name := "other (runtime, goroutine scheduling, syscalls outside the above)"
		for _, p := range parts {
			if (p.label != "" && p.label == s.label) || (p.marker != "" && strings.Contains(all, p.marker)) {
				name = p.name
				break
			}
		}
		sums[name] += s.nanos
		total += s.nanos
	}
	var out []share
	for name, n := range sums {
		out = append(out, share{name, n})
	}
	slices.SortFunc(out, func(a, b share) int { return int(b.nanos - a.nanos) })
	return out, total, nil
}

// explain prints where the CPU time of a profiled row went.
func explain(path, shown, what string, seconds float64) {
	fmt.Printf("\nWhere the time goes at %s (a CPU profile of the whole process over that row; %s):\n\n", what, shown)
	shares, total, err := breakdown(path)
	if err != nil || total == 0 {
		fmt.Printf("(no breakdown: %v)\n", err)
		return
	}
	fmt.Printf("| part of the process | CPU | share | cores |\n|---|---:|---:|---:|\n")
	for _, s := range shares {
		fmt.Printf("| %s | %.2f s | %.1f%% | %.2f |\n", s.name, float64(s.nanos)/1e9, 100*float64(s.nanos)/float64(total), float64(s.nanos)/1e9/seconds)
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=15", path).Output()
	if err == nil {
		if _, top, ok := bytes.Cut(out, []byte("flat  flat%")); ok {
			fmt.Printf("\nheaviest functions (flat):\n\n```\n      flat  flat%%%s```\n", top)
		}
	}
}
