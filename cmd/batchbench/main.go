// Command batchbench measures batches (issue 16) on the offline pipeline:
// an embedded etcd, the embedded Kafka broker, a scheduler and two
// workers with the no-op renderer, in one process, and the gateway's
// handler in front (served in-process, as a client's requests would be).
//
// It creates a template, then, for each of -repeats rounds, submits one
// batch of -rows rows (as JSON, then as CSV) and measures the time to the
// 202 answer, and the time until every row's job has run (reached a
// terminal state, followed on a watch of the job store). It prints a
// markdown table with each round and the medians.
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
	"slices"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
)

const benchKey = "batchbench-key"

// template is the bench's template: a canvas with a text and a number
// variable, so that each row expands to its own spec.
const template = `{"name":"bench","spec":{
  "source":{"color":"#000000","width":64,"height":64,"duration":1},
  "stickers":[{"type":"image","builtin":"heart","x":"{{x}}"},{"type":"text","text":"Hello {{name}}"}]},
 "variables":{"name":{"type":"text","max_length":40},"x":{"type":"number","min":0,"max":1,"default":0.5}}}`

func main() {
	rows := flag.Int("rows", 1000, "rows per batch")
	repeats := flag.Int("repeats", 5, "batches of each kind (JSON, CSV); the medians are printed")
	concurrency := flag.Int("worker-concurrency", 256, "slots per worker (the renderer does nothing)")
	scratch := flag.String("scratch", "/dev/shm", "folder for the workers' scratch files and the blob store (etcd stays on disk); empty: on disk too")
	flag.Parse()
	if *rows < 1 || *rows > 10000 || *repeats < 1 {
		fmt.Fprintln(os.Stderr, "batchbench: -rows must be 1 to 10000 and -repeats at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *rows, *repeats, *concurrency, *scratch); err != nil {
		fmt.Fprintln(os.Stderr, "batchbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rows, repeats, conc int, scratch string) error {
	dir, err := os.MkdirTemp("", "batchbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := wiring.DefaultConfig(dir)
	where := "disk"
	if st, err := os.Stat(scratch); scratch != "" && err == nil && st.IsDir() {
		sdir, err := os.MkdirTemp(scratch, "batchbench-")
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
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	cfg.Etcd.Logger, cfg.Etcd.LogLevel = cfg.Log, "error" // etcd warns of every slow request under this load
	s, err := wiring.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	for s.Leader() == nil || len(s.Leader().Scheduler.Workers()) < 2 {
		time.Sleep(50 * time.Millisecond)
	}
	gcfg := gateway.DefaultConfig()
	gcfg.APIKeys = map[string]string{benchKey: "bench"}
	gw, err := s.Gateway(wiring.GatewayOptions{Config: gcfg, Context: ctx, Log: cfg.Log})
	if err != nil {
		return err
	}
	h := gw.Handler()
	var tpl struct{ ID string }
	if code, body := call(h, "POST", "/v1/templates", "application/json", []byte(template)); code != http.StatusCreated {
		return fmt.Errorf("creating the template: %d %s", code, body)
	} else {
		json.Unmarshal(body, &tpl)
	}
	jsonBody, csvBody := bodies(tpl.ID, rows)
	// A small batch first: connections, the consumer group, etcd warm up.
	if _, err := round(ctx, s, h, "/v1/batches", "application/json", bodiesOf(tpl.ID, 50)); err != nil {
		return err
	}
	fmt.Printf("pipeline: embedded etcd (1 member, WAL on disk, fsync on), embedded Kafka, 1 scheduler, 2 workers x %d slots, no-op renderer; worker scratch and blobs on %s\n", conc, where)
	fmt.Printf("each round: POST /v1/batches with %d rows through the gateway's handler (every row expanded from the template, parsed, its job written), then wait until every row's job has run\n\n", rows)
	fmt.Println("| batch | round | rows | time to 202 | time until every row ran | rows/s (end to end) |")
	fmt.Println("|:------|------:|-----:|------------:|-------------------------:|--------------------:|")
	kinds := []struct {
		name, path, ctype string
		body              []byte
	}{
		{"JSON", "/v1/batches", "application/json", jsonBody},
		{"CSV", "/v1/batches?template_id=" + tpl.ID, "text/csv", csvBody},
	}
	var summary []string
	for _, k := range kinds {
		var accepted, ran []time.Duration
		for i := range repeats {
			res, err := round(ctx, s, h, k.path, k.ctype, k.body)
			if err != nil {
				return err
			}
			accepted, ran = append(accepted, res.accepted), append(ran, res.ran)
			fmt.Printf("| %s | %d | %d | %s | %s | %.0f |\n", k.name, i+1, rows, ms(res.accepted), ms(res.ran), float64(rows)/res.ran.Seconds())
		}
		ma, mr := median(accepted), median(ran)
		summary = append(summary, fmt.Sprintf("| %s | median of %d | %d | %s | %s | %.0f |", k.name, repeats, rows, ms(ma), ms(mr), float64(rows)/mr.Seconds()))
	}
	fmt.Println(strings.Join(summary, "\n"))
	return nil
}

func bodiesOf(id string, rows int) []byte { b, _ := bodies(id, rows); return b }

// bodies are a batch of rows as JSON and as CSV.
func bodies(id string, rows int) (jsonBody, csvBody []byte) {
	var j, c bytes.Buffer
	j.WriteString(`{"template_id":"` + id + `","rows":[`)
	c.WriteString("name,x\n")
	for i := range rows {
		if i > 0 {
			j.WriteByte(',')
		}
		x := float64(i%100) / 100
		fmt.Fprintf(&j, `{"name":"row %d","x":%g}`, i, x)
		fmt.Fprintf(&c, "row %d,%g\n", i, x)
	}
	j.WriteString("]}")
	return j.Bytes(), c.Bytes()
}

type result struct{ accepted, ran time.Duration }

// round submits one batch and waits for every row's job to end.
func round(ctx context.Context, s *wiring.Stack, h http.Handler, path, ctype string, body []byte) (result, error) {
	rev, err := s.Store.Revision(ctx)
	if err != nil {
		return result{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	events, err := s.Store.WatchJobs(wctx, rev+1)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	code, answer := call(h, "POST", path, ctype, body)
	accepted := time.Since(start)
	if code != http.StatusAccepted {
		return result{}, fmt.Errorf("POST %s: %d %s", path, code, answer)
	}
	var b struct {
		ID       string `json:"id"`
		Accepted int    `json:"accepted"`
	}
	json.Unmarshal(answer, &b)
	ended := map[jobs.ID]bool{}
	for len(ended) < b.Accepted {
		select {
		case ev, ok := <-events:
			if !ok {
				return result{}, fmt.Errorf("the watch ended with %d of %d rows run", len(ended), b.Accepted)
			}
			if ev.Job != nil && ev.Job.BatchID == b.ID && ev.Job.Status.Terminal() {
				if ev.Job.Status != jobs.Succeeded {
					return result{}, fmt.Errorf("row job %s ended %s: %+v", ev.Job.ID, ev.Job.Status, ev.Job.Error)
				}
				ended[ev.Job.ID] = true
			}
		case <-wctx.Done():
			return result{}, fmt.Errorf("%d of %d rows ran in 5 minutes", len(ended), b.Accepted)
		}
	}
	return result{accepted: accepted, ran: time.Since(start)}, nil
}

func call(h http.Handler, method, path, ctype string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+benchKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
