package statestore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/services/jobs"
	"github.com/stickerd/stickerd/services/kv"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// shared is one embedded member for the tests that do not stop members;
// each test keeps its records under a prefix of its own.
var shared *clientv3.Client

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "statestore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	clients, peers, err := kv.FreeLocalURLs(1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	member, err := kv.StartMember(ctx, kv.MemberConfig{Name: "shared", DataDir: dir, ClientURLs: clients, PeerURLs: peers})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer member.Kill()
	if shared, err = member.Client(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer shared.Close()
	return m.Run()
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

func mustCreate(t *testing.T, s *Store, j *jobs.Job) *jobs.Job {
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
