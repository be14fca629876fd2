package jobstore

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	"github.com/stickerd/stickerd/internal/jobs"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// shared is one embedded member for the tests that do not stop members;
// each test keeps its records under a prefix of its own.
var shared *clientv3.Client

func TestMain(m *testing.M) {
	os.Exit(etcdtest.RunWithMember(m, "statestore", func(c *clientv3.Client) { shared = c }))
}

// newStore is a store on the shared member under a prefix for this test.
func newStore(t *testing.T) *Store {
	return New(shared, "/test/"+strings.ReplaceAll(t.Name(), "/", "_"))
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newJob is a queued job of tenant created at created.
func newJob(tenant string, created time.Time) *jobs.Job {
	return &jobs.Job{
		ID:        jobs.NewID(),
		Tenant:    tenant,
		Status:    jobs.Queued,
		Priority:  jobs.Normal,
		CreatedAt: created,
		Metadata:  map[string]string{"k": "v"},
		Spec:      []byte(`{"w":640}`),
	}
}

func mustCreate(t *testing.T, s contract, j *jobs.Job) *jobs.Job {
	t.Helper()
	c, err := s.Create(testCtx(t), j)
	if err != nil {
		t.Fatalf("create %s: %v", j.ID, err)
	}
	return c
}

// drain collects what ch delivers until it closes, failing after d.
func drain[T any](t *testing.T, ch <-chan T, d time.Duration) []T {
	t.Helper()
	var got []T
	timeout := time.After(d)
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, v)
		case <-timeout:
			t.Fatalf("channel still open after %s (%d received)", d, len(got))
		}
	}
}
