package stickerd

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

// testCtx bounds a test in time.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sleeps records the waits of a client instead of sleeping them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newFake starts the fake API and a client of it that records its sleeps.
func newFake(t *testing.T, cfg stickerdtest.Config) (*stickerdtest.Server, *Client, *sleeps) {
	t.Helper()
	fake := stickerdtest.New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c := New(srv.URL, WithAPIKey(cfg.APIKey), WithPollInterval(time.Millisecond))
	s := &sleeps{}
	c.sleep = s.sleep
	return fake, c, s
}

const canvasSpec = `{"source":{"color":"#102030","width":320,"height":240,"duration":2,"fps":10},
	"stickers":[{"type":"image","builtin":"heart","x":0.25,"y":0.5,"width":0.2}],"output":{"format":"webm"}}`

// submitted submits canvasSpec and returns the job.
func submitted(t *testing.T, c *Client) *Job {
	t.Helper()
	j, _, err := c.SubmitRender(testCtx(t), canvasSpec)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
