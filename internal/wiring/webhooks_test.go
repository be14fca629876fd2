package wiring

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/services/webhook"
)

// syncBuffer is a log sink safe for the delivery goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// noWait is the real clock with no waits: retries come at once.
type noWait struct{ clock.Real }

func (noWait) Sleep(context.Context, time.Duration) error { return nil }

// A delivery that fails for good is logged with its reason.
func TestWebhooks_FailureIsLoggedWithItsReason(t *testing.T) {
	var logs syncBuffer
	cfg := webhook.DefaultConfig()
	cfg.Secret = webhook.NewSecret()
	cfg.Clock = noWait{}
	w, err := NewWebhooks(context.Background(), cfg, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	w.Notify(&jobs.Job{ID: "job_1", Tenant: "t1", Status: jobs.Succeeded, WebhookURL: "http://169.254.169.254/hook?token=s3cret"})
	w.Wait(10 * time.Second)
	out := logs.String()
	if !strings.Contains(out, "webhook failed") || !strings.Contains(out, "private or local address") {
		t.Fatalf("the log does not say why the webhook failed:\n%s", out)
	}
	if strings.Contains(out, "s3cret") {
		t.Fatalf("the log shows the webhook URL's query:\n%s", out)
	}
}
