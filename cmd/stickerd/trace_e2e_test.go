package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stickerd/stickerd/services/assets/assetstest"
)

// jaegerBinary is the Jaeger all-in-one that scripts/jaeger.sh builds (once,
// into GOBIN), or STICKERD_JAEGER when set. Building it takes minutes: in
// -short mode a missing binary skips the test instead.
func jaegerBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("STICKERD_JAEGER"); bin != "" {
		return bin
	}
	script := filepath.Join("..", "..", "scripts", "jaeger.sh")
	if testing.Short() {
		// Where the script would put it, without building it.
		out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
		if err == nil {
			dirs := strings.Split(strings.TrimSpace(string(out)), "\n")
			bin := filepath.Join(dirs[len(dirs)-1], "bin", "jaeger-"+jaegerVersion(t))
			if dirs[0] != "" {
				bin = filepath.Join(dirs[0], "jaeger-"+jaegerVersion(t))
			}
			if _, err := os.Stat(bin); err == nil {
				return bin
			}
		}
		t.Skip("the Jaeger binary is not built and -short does not build it (minutes): run scripts/jaeger.sh, or make test")
	}
	out, err := exec.Command("bash", script).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("building Jaeger with %s: %v\n%s", script, err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// jaegerVersion is the Jaeger release tools/jaeger/go.mod requires.
func jaegerVersion(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "tools", "jaeger", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/jaegertracing/jaeger" {
			return f[1]
		}
	}
	t.Fatal("tools/jaeger/go.mod names no Jaeger version")
	return ""
}

// jaegerConfig runs Jaeger with in-memory storage, an OTLP/gRPC receiver
// and the query API, each on a port of the test's, and nothing else (the
// all-in-one default would take fixed ports: 4317, 16686, 8888...).
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: %s
    grpc:
      endpoint: %s
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`

// startJaeger starts Jaeger on free loopback ports and returns its OTLP
// endpoint and the base URL of its query API.
func startJaeger(t *testing.T, dir string) (otlp, query string) {
	t.Helper()
	bin := jaegerBinary(t)
	otlp, query = freeAddr(t), freeAddr(t)
	cfg := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(jaegerConfig, query, freeAddr(t), otlp)), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "jaeger.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", "file:"+cfg)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		log.Close()
	})
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + query + "/api/services"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return otlp, "http://" + query
			}
		}
	}
	t.Fatalf("Jaeger did not answer on %s (log %s)", query, log.Name())
	return "", ""
}

// jaegerTrace is a trace as Jaeger's query API answers it.
type jaegerTrace struct {
	Spans []struct {
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		Tags []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"tags"`
		ProcessID string `json:"processID"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// span is one span of a trace, with its service and parent resolved.
type span struct {
	id, name, service, parent string
	tags                      map[string]any
}

func (tr jaegerTrace) spans() []span {
	var out []span
	for _, s := range tr.Spans {
		sp := span{id: s.SpanID, name: s.OperationName, service: tr.Processes[s.ProcessID].ServiceName, tags: map[string]any{}}
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" {
				sp.parent = r.SpanID
			}
		}
		for _, tag := range s.Tags {
			sp.tags[tag.Key] = tag.Value
		}
		out = append(out, sp)
	}
	return out
}

// TestCluster_OneTraceAcrossProcesses runs a multi-process stack (an etcd
// member, the broker, a scheduler, a worker and a gateway, each its own
// process) exporting to a real Jaeger, submits a render with an uploaded
// sticker and a webhook through the gateway, and reads the job's trace
// back through Jaeger's query API: one trace holds the gateway's request,
// its etcd write and Kafka produce, the scheduler's consume, assignment,
// completion and webhook, and the worker's render with its input fetch,
// ffmpeg run (encoder and realtime factor) and output store, each below
// the right parent. The job record names the trace and carries its
// timeline.
func TestCluster_OneTraceAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	otlp, query := startJaeger(t, dir)
	// Spans leave each process every 100 ms instead of every 5 s.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	hooks := make(chan []byte, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- b
	}))
	defer receiver.Close()

	c := &cluster{t: t, dir: dir, bin: filepath.Join(dir, "stickerd")}
	if out, err := exec.Command("go", "build", "-o", c.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	tracing := []string{"--otlp-endpoint", otlp, "--trace-sample-ratio", "1"}
	etcdClient, etcdPeer := "http://"+freeAddr(t), "http://"+freeAddr(t)
	c.add(&c.kv, "kv", "kv", "--name", "m0", "--data-dir", filepath.Join(dir, "etcd"),
		"--client-urls", etcdClient, "--peer-urls", etcdPeer)
	c.etcdClients, c.kafkaAddr = etcdClient, freeAddr(t)
	c.add(&c.kafka, "kafka", "kafka", "--kafka-listen", c.kafkaAddr)
	sched := freeAddr(t)
	c.add(&c.schedulers, "scheduler", append([]string{"scheduler", "--id", "s0", "--grpc-addr", sched,
		"--etcd-endpoints", etcdClient, "--kafka-brokers", c.kafkaAddr, "--allow-private-urls"}, tracing...)...)
	c.add(&c.workers, "worker", append([]string{"worker", "--id", "w0", "--concurrency", "1", "--schedulers", sched,
		"--data-dir", filepath.Join(dir, "data")}, tracing...)...)
	gw := c.add(&c.gateways, "gateway", append([]string{"gateway", "--etcd-endpoints", etcdClient, "--kafka-brokers", c.kafkaAddr,
		"--data-dir", filepath.Join(dir, "data"), "--rate-limit", "0", "--allow-private-urls"}, tracing...)...)
	for _, group := range [][]*proc{c.kv, c.kafka, c.schedulers, c.workers, c.gateways} {
		for _, p := range group {
			p.waitHealthy(60 * time.Second)
		}
	}

	httpc := &http.Client{Timeout: 20 * time.Second}
	_, asset := uploadAsset(t, httpc, gw.base(), assetstest.PNG(t, 40, 30), "image/png")
	body := fmt.Sprintf(`{"source":{"color":"#204060","width":320,"height":240,"duration":1,"fps":15},
		"stickers":[{"type":"image","asset_id":%q,"width":0.3}],"output":{"format":"mp4","quality":"draft"},
		"webhook_url":%q}`, asset, receiver.URL+"/hook")
	id, status, err := postRender(httpc, gw.base(), []byte(body))
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("submit: %d %v", status, err)
	}
	var job struct {
		Status  string            `json:"status"`
		TraceID string            `json:"trace_id"`
		Timings map[string]string `json:"timings"`
		Error   any               `json:"error"`
	}
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		getJSON(t, httpc, gw.base()+"/v1/renders/"+id, &job)
		if job.Status == "succeeded" || job.Status == "failed" || job.Status == "canceled" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("job %s still %s", id, job.Status)
		}
	}
	if job.Status != "succeeded" || len(job.TraceID) != 32 {
		t.Fatalf("job %s: %s, trace_id %q, error %v", id, job.Status, job.TraceID, job.Error)
	}
	// The timeline, from the record, in order.
	var last time.Time
	for _, phase := range []string{"queued", "assigned", "started", "inputs_fetched", "encoded", "stored", "finished"} {
		at, err := time.Parse(time.RFC3339Nano, job.Timings[phase])
		if err != nil || at.Before(last) {
			t.Fatalf("timings %v: %s missing or out of order", job.Timings, phase)
		}
		last = at
	}
	select {
	case <-hooks:
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook")
	}

	// The spans arrive in Jaeger from three processes; wait for the last.
	want := []struct{ service, name, parent string }{
		{"stickerd-gateway", "POST /v1/renders", ""},
		{"stickerd-gateway", "etcdserverpb.KV/Txn", "POST /v1/renders"},
		{"stickerd-gateway", "send stickerd.render.jobs", "POST /v1/renders"},
		{"stickerd-scheduler", "process stickerd.render.jobs", "send stickerd.render.jobs"},
		{"stickerd-scheduler", "assign", "POST /v1/renders"},
		{"stickerd-scheduler", "etcdserverpb.KV/Txn", "assign"},
		{"stickerd-worker", "render", "assign"},
		{"stickerd-worker", "fetch input", "render"},
		{"stickerd-worker", "ffmpeg", "render"},
		{"stickerd-worker", "store output", "render"},
		{"stickerd-scheduler", "complete", "POST /v1/renders"},
		{"stickerd-scheduler", "webhook", "POST /v1/renders"},
		{"stickerd-scheduler", "HTTP POST", "webhook"},
	}
	var spans []span
	var missing []string
	for end := time.Now().Add(45 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		var res struct{ Data []jaegerTrace }
		getJSON(t, httpc, query+"/api/traces/"+job.TraceID, &res)
		spans, missing = nil, nil
		if len(res.Data) == 1 {
			spans = res.Data[0].spans()
		}
		byID := map[string]span{}
		for _, s := range spans {
			byID[s.id] = s
		}
		for _, w := range want {
			found := false
			for _, s := range spans {
				p, hasParent := byID[s.parent]
				if s.service == w.service && s.name == w.name && (w.parent == "" && s.parent == "" || hasParent && p.name == w.parent) {
					found = true
				}
			}
			if !found {
				missing = append(missing, fmt.Sprintf("%s %q under %q", w.service, w.name, w.parent))
			}
		}
		if len(missing) == 0 || time.Now().After(end) {
			break
		}
	}
	if len(missing) > 0 {
		var got []string
		for _, s := range spans {
			got = append(got, fmt.Sprintf("%s %q (%s, parent %s)", s.service, s.name, s.id, s.parent))
		}
		t.Fatalf("trace %s lacks %d spans:\n  %s\nit holds:\n  %s", job.TraceID, len(missing),
			strings.Join(missing, "\n  "), strings.Join(got, "\n  "))
	}
	for _, s := range spans {
		if s.name != "ffmpeg" {
			continue
		}
		rf, _ := s.tags["ffmpeg.realtime_factor"].(float64)
		if enc, _ := s.tags["ffmpeg.encoder"].(string); enc == "" || rf <= 0 {
			t.Fatalf("ffmpeg span tags %v: want its encoder and realtime factor", s.tags)
		}
		t.Logf("ffmpeg: encoder %v, realtime factor %.1f", s.tags["ffmpeg.encoder"], rf)
	}
	t.Logf("trace %s: %d spans across gateway, scheduler and worker; timings %v", job.TraceID, len(spans), job.Timings)
}

// getJSON GETs url and decodes its JSON answer into v.
func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
}
