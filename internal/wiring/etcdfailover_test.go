package wiring

import (
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	"github.com/stickerd/stickerd/internal/jobs"
)

// A 3-member etcd cluster loses its leader while jobs flow: every accepted
// job still ends, exactly once.
func TestPipeline_EtcdLeaderStoppedMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-member etcd cluster")
	}
	cluster := etcdtest.StartCluster(t, 3)
	cfg := testConfig(t)
	cfg.EtcdEndpoints = cluster.Endpoints()
	cfg.Workers = 2
	cfg.Renderer = NoopRenderer{Delay: 50 * time.Millisecond}
	s := start(t, cfg)
	var ids []jobs.ID
	submitSome := func(n int) {
		for i := 0; i < n; i++ {
			j, err := trySubmit(s, smallJob)
			if err != nil {
				continue // 503 during the election: the client retries; never an accepted job
			}
			ids = append(ids, j.ID)
		}
	}
	submitSome(20)
	leader := cluster.WaitLeader(10 * time.Second)
	cluster.Kill(leader)
	submitSome(20)
	cluster.WaitLeader(15 * time.Second)
	submitSome(20)
	if len(ids) < 40 {
		t.Fatalf("only %d of 60 submissions accepted", len(ids))
	}
	waitTerminal(t, s, 60*time.Second, ids...)
	for _, id := range ids {
		if j := get(t, s, id); j.Status != jobs.Succeeded || j.Completions != 1 {
			t.Fatalf("job %s: %s, %d completions", id, j.Status, j.Completions)
		}
	}
	t.Logf("%d accepted jobs all succeeded once across the etcd leader's death", len(ids))
}
