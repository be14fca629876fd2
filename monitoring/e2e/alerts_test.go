package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Render requests. Each varies by n, so that no two are the same request
// (the result cache answers a repeated one without rendering).
const (
	// unreadableSpec's source URL answers 200 with bytes that are no video.
	unreadableSpec = `{"source":{"url":"%s/clip-%d.mp4"},"stickers":[{"type":"image","builtin":"heart"}]}`
	// webhookSpec renders in a second and notifies a receiver that answers 500.
	webhookSpec = `{"source":{"color":"#%06X","width":160,"height":120,"duration":1,"fps":10},
		"stickers":[{"type":"image","builtin":"heart","width":0.6}],"webhook_url":"%s/hooks/%d"}`
	// longSpec renders for far longer than the test runs, so that it is
	// always mid-render when its worker is killed.
	longSpec = `{"source":{"color":"#%06X","width":1280,"height":720,"duration":120,"fps":30},
		"stickers":[{"type":"image","builtin":"confetti","animation":"spin"}],"output":{"quality":"high"}}`
)

// How many failures of each kind the test injects. The counters of
// stickerd_errors_total and the webhook outcomes only appear with their
// first increment, which rate() and increase() cannot see, so the first
// failure of each kind is injected and scraped before the others.
const (
	unreadableJobs = 4
	webhookJobs    = 3
	killRounds     = 2 // each long job loses its worker twice
	longJobs       = 2
)

// TestMonitoring_InjectedFailuresRaiseAlerts runs `stickerd dev` in-process
// with a real Prometheus scraping its /metrics and evaluating the shipped
// rules (for: clauses shortened), injects unreadable sources, workers
// killed mid-render and failing webhooks through the REST API and the
// pipeline, and checks that every matching series rose and that the
// matching alerts went pending or firing.
func TestMonitoring_InjectedFailuresRaiseAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the stack, real ffmpeg and Prometheus")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("prometheus is required in CI: %v", err)
		}
		t.Skipf("prometheus not installed: %v", err)
	}
	began := time.Now()
	end := began.Add(2 * time.Minute)
	within := func(d time.Duration) time.Duration { return max(0, min(d, time.Until(end))) }

	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Write([]byte(strings.Repeat("this is not a video, only garbage bytes\n", 2000)))
	}))
	t.Cleanup(garbage.Close)
	var hookHits atomic.Int64
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hookHits.Add(1)
		http.Error(w, "receiver broken", http.StatusInternalServerError)
	}))
	t.Cleanup(hooks.Close)

	d := startDev(t, 2)
	p := startPrometheus(t, bin, d.Addr)
	p.waitAtLeast(t, within(20*time.Second), fmt.Sprintf(`up{job=%q}`, scrapeJob), 1)
	p.waitAtLeast(t, within(20*time.Second), `stickerd_workers_lost_total`, 0) // scraped at 0 before any loss
	t.Logf("%5.1fs: stack, gateway at %s and Prometheus at %s up", time.Since(began).Seconds(), d.API, p.URL)

	// The first failure of each kind, scraped before the rest.
	unreadable := func(n int) {
		j := d.submit(t, fmt.Sprintf(unreadableSpec, garbage.URL, n))
		j = d.waitJob(t, j.ID, within(30*time.Second), "to end", job.terminal)
		if j.Status != "failed" || j.Error == nil || j.Error.Code != "SOURCE_UNREADABLE" {
			t.Fatalf("a garbage source: job %+v, error %+v; want failed with SOURCE_UNREADABLE", j, j.Error)
		}
	}
	webhook := func(n int) {
		j := d.submit(t, fmt.Sprintf(webhookSpec, n, hooks.URL, n))
		if j = d.waitJob(t, j.ID, within(30*time.Second), "to end", job.terminal); j.Status != "succeeded" {
			t.Fatalf("a webhook job: %+v, error %+v", j, j.Error)
		}
	}
	unreadable(1)
	webhook(1)
	for _, q := range []string{
		`sum(stickerd_errors_total{code="SOURCE_UNREADABLE"})`,
		`sum(stickerd_renders_total{result="failed"})`,
		`sum(stickerd_renders_total{result="succeeded"})`,
		`sum(stickerd_webhook_deliveries_total{outcome="failed"})`,
		`sum(stickerd_errors_total{code="WEBHOOK_FAILED"})`,
	} {
		p.waitAtLeast(t, within(30*time.Second), q, 1)
	}
	for n := 2; n <= unreadableJobs; n++ {
		unreadable(n)
	}
	for n := 2; n <= webhookJobs; n++ {
		webhook(n)
	}

	t.Logf("%5.1fs: %d unreadable sources and %d failing webhooks injected", time.Since(began).Seconds(), unreadableJobs, webhookJobs)

	// Workers killed mid-render, twice for each long job.
	var long []job
	for n := 1; n <= longJobs; n++ {
		long = append(long, d.submit(t, fmt.Sprintf(longSpec, n)))
	}
	killed := make([]int, len(long)) // the attempt each job last lost its worker in
	for round := 1; round <= killRounds; round++ {
		var victims []string
		for i, l := range long {
			j := d.waitJob(t, l.ID, within(60*time.Second), "to run again", func(j job) bool {
				return j.Status == "running" && j.Worker != nil && j.Attempts > killed[i]
			})
			victims, killed[i] = append(victims, *j.Worker), j.Attempts
		}
		time.Sleep(300 * time.Millisecond) // ffmpeg is running
		for _, id := range victims {
			d.proc(t, id).Kill()
			if _, err := d.AddWorker(); err != nil {
				t.Fatal(err)
			}
		}
		if round == 1 {
			p.waitAtLeast(t, within(30*time.Second), `sum(stickerd_errors_total{code="WORKER_LOST"})`, longJobs)
		}
	}
	for i, l := range long {
		j := d.waitJob(t, l.ID, within(30*time.Second), "to run again", func(j job) bool {
			return j.Attempts > killed[i] || j.terminal()
		})
		if j.Status == "failed" {
			t.Fatalf("long job %s failed after %d attempts: %+v", j.ID, j.Attempts, j.Error)
		}
		d.cancel(t, l.ID)
	}

	t.Logf("%5.1fs: %d workers killed mid-render", time.Since(began).Seconds(), killRounds*longJobs)

	// Every series rose, as Prometheus sees it.
	lost := killRounds * longJobs
	type check struct {
		what  string
		query string
		min   float64 // the query's value (summed) must reach it
	}
	checks := []check{
		{"SOURCE_UNREADABLE through Kafka and the monitor", `sum(stickerd_errors_total{code="SOURCE_UNREADABLE"})`, unreadableJobs},
		{"SOURCE_UNREADABLE counted locally", `sum(stickerd_local_errors_total{code="SOURCE_UNREADABLE"})`, unreadableJobs},
		{"SOURCE_UNREADABLE increase", `sum(increase(stickerd_errors_total{code="SOURCE_UNREADABLE"}[5m]))`, unreadableJobs - 1},
		{"SOURCE_UNREADABLE local increase", `sum(increase(stickerd_local_errors_total{code="SOURCE_UNREADABLE"}[5m]))`, unreadableJobs - 1},
		{"SOURCE_UNREADABLE recording rule", `stickerd:errors:rate5m{code="SOURCE_UNREADABLE"}`, 0.001},
		{"failed renders", `sum(stickerd_renders_total{result="failed"})`, unreadableJobs},
		{"render failure ratio", `stickerd:render_failure:ratio_rate5m`, 0.3},
		{"workers lost", `stickerd_workers_lost_total`, float64(lost)},
		{"workers lost increase", `sum(increase(stickerd_workers_lost_total[15m]))`, float64(lost)},
		{"WORKER_LOST through Kafka and the monitor", `sum(stickerd_errors_total{code="WORKER_LOST"})`, float64(lost)},
		{"WORKER_LOST increase", `sum(increase(stickerd_errors_total{code="WORKER_LOST"}[5m]))`, float64(lost - longJobs)},
		{"WORKER_LOST counted locally", `sum(stickerd_local_errors_total{code="WORKER_LOST"})`, float64(lost)},
		{"failed webhook deliveries", `sum(stickerd_webhook_deliveries_total{outcome="failed"})`, webhookJobs},
		{"failed webhook deliveries increase", `sum(increase(stickerd_webhook_deliveries_total{outcome="failed"}[15m]))`, webhookJobs - 1},
		{"webhook failure ratio", `stickerd:webhook_failure:ratio_rate15m`, 0.99},
		{"WEBHOOK_FAILED through Kafka and the monitor", `sum(stickerd_errors_total{code="WEBHOOK_FAILED"})`, webhookJobs},
		{"WEBHOOK_FAILED increase", `sum(increase(stickerd_errors_total{code="WEBHOOK_FAILED"}[5m]))`, webhookJobs - 1},
	}
	// The alerts whose thresholds these failures cross. StickerdClientErrorsHigh
	// (SOURCE_UNREADABLE above 1/s over 5m) would need hundreds of bad jobs;
	// the unreadable sources show in the render failure ratio instead.
	wantAlerts := []string{
		"StickerdWorkersFlapping/warning",
		"StickerdWebhookFailures/warning",
		"StickerdRenderFailureRatioHigh/warning",
		"StickerdRenderFailureRatioHigh/critical",
	}
	ctx := context.Background()
	var (
		missing []string
		states  []string
	)
	waitUntil(t, within(60*time.Second), "the series and alerts", func() (bool, error) {
		missing = missing[:0]
		for _, c := range checks {
			v, ok, err := p.scalar(ctx, c.query)
			if err != nil {
				return false, err
			}
			if !ok || v < c.min {
				missing = append(missing, fmt.Sprintf("%s: %s = %v (present %v), want >= %v", c.what, c.query, v, ok, c.min))
			}
		}
		active, err := p.alerts(ctx)
		if err != nil {
			return false, err
		}
		var got []string
		states = states[:0]
		for _, a := range active {
			if a.State == "pending" || a.State == "firing" {
				got = append(got, a.Labels["alertname"]+"/"+a.Labels["severity"])
				states = append(states, a.Labels["alertname"]+"/"+a.Labels["severity"]+" "+a.State)
			}
		}
		for _, w := range wantAlerts {
			if !slices.Contains(got, w) {
				missing = append(missing, "alert "+w+" not pending or firing (active: "+strings.Join(got, ", ")+")")
			}
		}
		if len(missing) > 0 {
			return false, fmt.Errorf("%d unmet:\n  %s", len(missing), strings.Join(missing, "\n  "))
		}
		return true, nil
	})
	if n := hookHits.Load(); n < webhookJobs*2 {
		t.Errorf("the receiver got %d deliveries, want %d (%d jobs, 2 attempts each)", n, webhookJobs*2, webhookJobs)
	}
	t.Logf("%5.1fs: every series rose; active alerts: %s", time.Since(began).Seconds(), strings.Join(states, ", "))
}

// waitAtLeast polls an instant query until its summed value reaches min.
func (p *promServer) waitAtLeast(t *testing.T, within time.Duration, q string, atLeast float64) {
	t.Helper()
	waitUntil(t, within, fmt.Sprintf("%s >= %v in Prometheus", q, atLeast), func() (bool, error) {
		v, ok, err := p.scalar(context.Background(), q)
		if err == nil && ok && v < atLeast {
			err = fmt.Errorf("%s = %v", q, v)
		}
		return err == nil && ok && v >= atLeast, err
	})
}
