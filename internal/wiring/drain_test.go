package wiring

import (
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

func TestWorker_DrainFinishesOrHandsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	tests := []struct {
		name         string
		delay, drain time.Duration
		wantAttempts int
		sameWorker   bool
	}{
		{"finishes within the drain timeout", 300 * time.Millisecond, 10 * time.Second, 1, true},
		{"hands back what outlasts it", time.Hour, 200 * time.Millisecond, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Renderer = NoopRenderer{Delay: tt.delay}
			s := start(t, cfg)
			j := submitJob(t, s, smallJob)
			first := s.Workers[0]
			waitFor(t, 10*time.Second, "the job to run", func() bool { return len(first.Worker.Running()) == 1 })
			s.cfg.Renderer = NoopRenderer{}
			if _, err := s.AddWorker(); err != nil {
				t.Fatal(err)
			}
			first.Stop(tt.drain) // SIGTERM: drain, then exit
			waitTerminal(t, s, 20*time.Second, j.ID)
			got := get(t, s, j.ID)
			if got.Status != jobs.Succeeded || got.Attempts != tt.wantAttempts || got.Completions != 1 {
				t.Fatalf("job %+v", got)
			}
			if onFirst := *got.Worker == first.Worker.ID(); onFirst != tt.sameWorker {
				t.Fatalf("finished on %s; on the drained worker: %v, want %v", *got.Worker, onFirst, tt.sameWorker)
			}
		})
	}
}
