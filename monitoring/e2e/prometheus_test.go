package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"
)

// rulesFile is the shipped rule file the test loads into Prometheus.
const rulesFile = "../prometheus/rules/stickerd.rules.yml"

// ruleFor replaces every `for:` of the rules, so that an alert goes from
// pending to firing within the test. A Prometheus duration, not Go's.
const ruleFor = "2s"

// scrapeJob names the one scrape job: the dev process serves every
// service's series on the gateway's /metrics, and a second job over the
// same target would double every sum() of the rules.
const scrapeJob = "gateway"

// shortenFor rewrites a Prometheus rule file with every `for:` set to d,
// leaving the rest (expressions, labels, annotations, order) as it was.
func shortenFor(src []byte, d string) ([]byte, error) {
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	n := 0
	for _, groups := range values(doc, "groups") {
		for _, g := range groups {
			gm, _ := g.(yaml.MapSlice)
			for _, rules := range values(gm, "rules") {
				for _, r := range rules {
					rm, _ := r.(yaml.MapSlice)
					for i := range rm {
						if rm[i].Key == "for" {
							rm[i].Value = d // rm shares its array with doc
							n++
						}
					}
				}
			}
		}
	}
	if n == 0 {
		return nil, errors.New("no rule has a for: clause; is this a rule file?")
	}
	return yaml.Marshal(doc)
}

// values returns the sequences stored under key in m.
func values(m yaml.MapSlice, key string) [][]any {
	var out [][]any
	for _, it := range m {
		if it.Key == key {
			if seq, ok := it.Value.([]any); ok {
				out = append(out, seq)
			}
		}
	}
	return out
}

// promServer is a Prometheus child process and its HTTP API.
type promServer struct {
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *syncBuffer
}

// startPrometheus runs the prometheus binary with a 1s scrape and rule
// evaluation interval, one job scraping target, and the shipped rules with
// shortened for: clauses. It is killed when the test ends.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := shortenFor(src, ruleFor)
	if err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	rulesPath := filepath.Join(dir, "stickerd.rules.yml")
	if err := os.WriteFile(rulesPath, rules, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := yaml.Marshal(yaml.MapSlice{
		{Key: "global", Value: yaml.MapSlice{
			{Key: "scrape_interval", Value: "1s"},
			{Key: "scrape_timeout", Value: "1s"},
			{Key: "evaluation_interval", Value: "1s"},
		}},
		{Key: "rule_files", Value: []string{rulesPath}},
		{Key: "scrape_configs", Value: []yaml.MapSlice{{
			{Key: "job_name", Value: scrapeJob},
			{Key: "static_configs", Value: []yaml.MapSlice{{{Key: "targets", Value: []string{target}}}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	// The port is picked free and then handed over, so another process may
	// take it in between: Prometheus then exits, and we try another.
	var last error
	for try := 0; try < 3; try++ {
		p, err := launchPrometheus(bin, cfgPath, filepath.Join(dir, fmt.Sprintf("tsdb-%d", try)))
		if err == nil {
			t.Cleanup(p.stop)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("prometheus log (tail):\n%s", p.logs.Tail(6000))
				}
			})
			return p
		}
		last = err
	}
	t.Fatalf("prometheus did not start: %v", last)
	return nil
}

func launchPrometheus(bin, cfgPath, tsdb string) (*promServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &promServer{URL: "http://" + addr, exited: make(chan struct{}), logs: &syncBuffer{}}
	p.cmd = exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+tsdb,
		"--storage.tsdb.retention.time=1h",
		"--web.listen-address="+addr,
	)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = childAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("prometheus exited at start:\n%s", p.logs.Tail(3000))
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
	}
	p.stop()
	return nil, fmt.Errorf("prometheus not ready after 30s:\n%s", p.logs.Tail(3000))
}

// stop kills Prometheus and waits for it to exit.
func (p *promServer) stop() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// sample is one element of an instant vector.
type sample struct {
	Metric map[string]string
	Value  float64
}

// query evaluates an instant query (GET /api/v1/query).
func (p *promServer) query(ctx context.Context, q string) ([]sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.api(ctx, "/api/v1/query?query="+url.QueryEscape(q), &data); err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: a %s, want a vector", q, data.ResultType)
	}
	out := make([]sample, 0, len(data.Result))
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v: %w", q, r.Value[1], err)
		}
		out = append(out, sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// scalar is the sum of the query's samples, and whether there were any.
func (p *promServer) scalar(ctx context.Context, q string) (float64, bool, error) {
	ss, err := p.query(ctx, q)
	if err != nil || len(ss) == 0 {
		return 0, false, err
	}
	sum := 0.0
	for _, s := range ss {
		sum += s.Value
	}
	return sum, true, nil
}

// alert is one active alert of GET /api/v1/alerts.
type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

// alerts lists the pending and firing alerts.
func (p *promServer) alerts(ctx context.Context) ([]alert, error) {
	var data struct {
		Alerts []alert `json:"alerts"`
	}
	if err := p.api(ctx, "/api/v1/alerts", &data); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return data.Alerts, nil
}

// api GETs path and decodes the data of a successful API answer into v.
func (p *promServer) api(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, env.Error)
	}
	return json.Unmarshal(env.Data, v)
}

// syncBuffer collects a child's or the stack's log lines for a failure report.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Tail returns the last n bytes, starting at a line.
func (b *syncBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return s
}
