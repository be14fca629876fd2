package wiring

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/services/submit"
)

func TestPipeline_RendersJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	s := start(t, testConfig(t))
	j := submitJob(t, s, smallJob)
	waitTerminal(t, s, 60*time.Second, j.ID)
	got := get(t, s, j.ID)
	if got.Status != jobs.Succeeded || got.Attempts != 1 || got.Completions != 1 || got.Output == nil || !got.Admitted {
		t.Fatalf("job %+v", got)
	}
	path, err := s.Blobs.LocalPath(context.Background(), got.Output.Key)
	if err != nil {
		t.Fatal(err)
	}
	if c := centre(t, path, 5, 160, 120); c[0] < 180 || c[2] > 120 {
		t.Fatalf("centre pixel %v: the heart sticker is missing", c)
	}
	if got.Output.Width != 160 || got.Output.Height != 120 || got.Output.Format != "mp4" || got.Output.Bytes == 0 {
		t.Fatalf("output %+v", got.Output)
	}
}

func TestPipeline_WorkerKilledMidRender(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	cfg := testConfig(t)
	cfg.Workers = 2
	s := start(t, cfg)
	j := submitJob(t, s, longJob)
	var victim *WorkerProc
	waitFor(t, 30*time.Second, "the job to run", func() bool {
		for _, w := range s.Workers {
			if len(w.Worker.Running()) == 1 {
				victim = w
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond) // mid-render
	victim.Kill()
	waitTerminal(t, s, 120*time.Second, j.ID)
	got := get(t, s, j.ID)
	if got.Status != jobs.Succeeded || got.Attempts != 2 || got.Completions != 1 {
		t.Fatalf("after the kill: status %s, attempts %d, completions %d (%+v)", got.Status, got.Attempts, got.Completions, got.Error)
	}
	// The store records the completion before the scheduler counts it.
	waitFor(t, 5*time.Second, "the completion to be counted", func() bool { return s.Leader().Scheduler.Stats().Completed == 1 })
	if st := s.Leader().Scheduler.Stats(); st.WorkersLost < 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPipeline_SchedulerFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	cfg := testConfig(t)
	cfg.Schedulers, cfg.Workers = 2, 2
	cfg.Renderer = NoopRenderer{Delay: 100 * time.Millisecond}
	s := start(t, cfg)
	var ids []jobs.ID
	for i := 0; i < 30; i++ {
		ids = append(ids, submitJob(t, s, smallJob).ID)
	}
	time.Sleep(300 * time.Millisecond)
	old := s.Leader()
	old.Kill()
	for i := 0; i < 30; i++ {
		ids = append(ids, submitJob(t, s, smallJob).ID)
	}
	waitFor(t, 15*time.Second, "a new leader", func() bool { l := s.Leader(); return l != nil && l != old })
	waitTerminal(t, s, 60*time.Second, ids...)
	for _, id := range ids {
		if j := get(t, s, id); j.Status != jobs.Succeeded || j.Completions != 1 {
			t.Fatalf("job %s: %s with %d completions", id, j.Status, j.Completions)
		}
	}
}

func TestPipeline_DuplicateMessageAndStaleCompletion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	cfg := testConfig(t)
	cfg.Renderer = NoopRenderer{Delay: 50 * time.Millisecond}
	s := start(t, cfg)
	j := submitJob(t, s, smallJob)
	for i := 0; i < 2; i++ { // the same message twice more
		if err := s.Producer.Publish(context.Background(), queue.TopicJobs, []byte(j.ID), []byte(`{"job_id":"`+string(j.ID)+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	waitTerminal(t, s, 30*time.Second, j.ID)
	// No wait for the duplicates: one that ran the job again before it
	// ended would show in Attempts and Completions, and one handled after
	// it cannot change a succeeded job (the state machine has no way out).
	got := get(t, s, j.ID)
	if got.Status != jobs.Succeeded || got.Completions != 1 || got.Attempts != 1 {
		t.Fatalf("duplicate delivery: %+v", got)
	}
	// A completion with the fencing token of an assignment that is not
	// current is refused.
	accepted, err := impostorComplete(s, j.ID, got.Fence+7)
	if err != nil {
		t.Fatal(err)
	}
	if accepted {
		t.Fatal("a stale completion was accepted")
	}
	if again := get(t, s, j.ID); again.Completions != 1 || again.Revision != got.Revision {
		t.Fatalf("a stale completion changed the job: %+v", again)
	}
	if s.Leader().Scheduler.Stats().StaleRefused < 1 {
		t.Fatalf("stats %+v", s.Leader().Scheduler.Stats())
	}
}

func TestPipeline_CancelRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	cfg := testConfig(t)
	s := start(t, cfg)
	j := submitJob(t, s, longJob)
	waitFor(t, 30*time.Second, "ffmpeg to run", func() bool { return ffmpegsUnder(cfg.Worker.WorkDir) == 1 })
	if _, err := s.Submitter.Cancel(context.Background(), "t1", j.ID); err != nil {
		t.Fatal(err)
	}
	waitTerminal(t, s, 30*time.Second, j.ID)
	if got := get(t, s, j.ID); got.Status != jobs.Canceled || got.Error == nil || got.Error.Code != "CANCELED" {
		t.Fatalf("job %+v", got)
	}
	waitFor(t, 5*time.Second, "ffmpeg to be gone", func() bool { return ffmpegsUnder(cfg.Worker.WorkDir) == 0 })
	if _, err := s.Submitter.Cancel(context.Background(), "t1", j.ID); !errors.Is(err, submit.ErrFinished) {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := s.Submitter.Cancel(context.Background(), "other-tenant", j.ID); !errors.Is(err, submit.ErrNotFound) {
		t.Fatalf("another tenant's cancel: %v", err)
	}
}

func TestPipeline_OutboxSweepEnqueuesLostMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	cfg := testConfig(t)
	cfg.Renderer = NoopRenderer{}
	s := start(t, cfg)
	s.Submitter.Pub = nil // the gateway answered 202 but the message never reached Kafka
	j := submitJob(t, s, smallJob)
	waitTerminal(t, s, 30*time.Second, j.ID)
	if got := get(t, s, j.ID); got.Status != jobs.Succeeded || !got.Admitted {
		t.Fatalf("job %+v", got)
	}
}

func TestPipeline_AttemptsExhaustedGoToDLQ(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	cfg := testConfig(t)
	cfg.Renderer = NoopRenderer{Fail: errcode.New(errcode.FFmpegFailed, "simulated encoder crash")}
	cfg.Scheduler.MaxAttempts = 3
	s := start(t, cfg)
	dlq, err := queue.NewConsumer(s.queueConfig(), "dlq-test", queue.TopicDLQ)
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	j := submitJob(t, s, smallJob)
	waitTerminal(t, s, 30*time.Second, j.ID)
	got := get(t, s, j.ID)
	if got.Status != jobs.Failed || got.Attempts != 3 || got.Error == nil || got.Error.Code != "ATTEMPTS_EXHAUSTED" ||
		!strings.Contains(got.Error.Message, "FFMPEG_FAILED") {
		t.Fatalf("job %+v error %+v", got, got.Error)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	found := make(chan struct{})
	go dlq.Run(ctx, func(_ context.Context, m queue.Message) error {
		if string(m.Key) == string(j.ID) {
			close(found)
		}
		return nil
	})
	select {
	case <-found:
	case <-ctx.Done():
		t.Fatal("the job never reached the dead-letter topic")
	}
}

// TestPipeline_SplitPartRetriedAloneAfterAWorkerDies: a job planned into
// four parts runs on three workers over etcd and Kafka; the worker of one
// part is killed mid-part. That part alone runs again, on another worker;
// the stitch joins all four in plan order; the job ends once, with the
// stitch's output, and its tasks and the parts' files are gone.
func TestPipeline_SplitPartRetriedAloneAfterAWorkerDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	cfg := testConfig(t)
	cfg.Workers, cfg.Worker.Concurrency = 3, 1
	cfg.Renderer = NoopRenderer{Parts: 4, Delay: 700 * time.Millisecond}
	s := start(t, cfg)
	j := submitJob(t, s, smallJob)
	var victim *WorkerProc
	var part jobs.ID
	waitFor(t, 30*time.Second, "a part to run", func() bool {
		for _, w := range s.Workers {
			for _, id := range w.Worker.Running() {
				if strings.Contains(string(id), ".part") {
					victim, part = w, id
					return true
				}
			}
		}
		return false
	})
	victim.Kill()
	waitTerminal(t, s, 60*time.Second, j.ID)
	got := get(t, s, j.ID)
	if got.Status != jobs.Succeeded || got.Completions != 1 || got.Output == nil || got.Split == nil || got.Split.Parts != 4 {
		t.Fatalf("split job: %+v", got)
	}
	path, err := s.Blobs.LocalPath(context.Background(), got.Output.Key)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "0;1;2;3;" {
		t.Fatalf("the stitch joined %q, want the four parts in order", b)
	}
	waitFor(t, 10*time.Second, "the tasks to be removed", func() bool {
		for _, id := range got.TaskIDs() {
			if _, err := s.Store.Get(context.Background(), id); err == nil {
				return false
			}
		}
		return true
	})
	// Only the killed part ran twice: the job, four parts, the killed
	// part again and the stitch are seven assignments.
	if st := s.Leader().Scheduler.Stats(); st.WorkersLost != 1 || st.Assigned != 7 {
		t.Fatalf("stats %+v: want one worker lost and 7 assignments (%s retried alone)", st, part)
	}
	entries, _ := filepath.Glob(filepath.Join(cfg.BlobDir, "parts", "t1", string(j.ID), "*"))
	if len(entries) != 0 {
		t.Fatalf("parts' files left: %v", entries)
	}
}
