package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
)

// signal sends sig to the process group (SIGSTOP freezes it, SIGCONT
// wakes it, as a long GC pause, a VM migration or a swapped-out host do).
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// TestCluster_PausesAndRetries runs the multi-process cluster through the
// faults that kills do not show: the dispatching scheduler frozen past its
// lease and woken, a worker frozen mid-render past its heartbeat TTL and
// woken, and gateways killed while a POST is in flight, the client
// retrying the same request (same Idempotency-Key) on the other gateway.
// It asserts: every accepted job ends succeeded exactly once; every
// output is the accepted attempt's file (named by its fencing token, its
// size the recorded one) and no refused attempt's file is left; no job
// write committed under a scheduler term after that term ended (etcd's
// history of the election keys and of the records' term stamps); one job
// per idempotency key.
func TestCluster_PausesAndRetries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a multi-process cluster")
	}
	c := startCluster(t, 3)
	ctx := context.Background()
	cli, err := etcd.Dial(ctx, strings.Split(c.etcdClients, ","))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	store := jobstore.New(cli, jobstore.DefaultPrefix)
	startRev := mustRev(t, cli)
	httpc := &http.Client{Timeout: 10 * time.Second}
	body := func(key string) []byte {
		return []byte(`{"source":{"color":"#00AA00","width":96,"height":64,"duration":2,"fps":15},
			"stickers":[{"type":"image","builtin":"heart","width":0.5}],"output":{"quality":"draft"},
			"metadata":{"req":"` + key + `"}}`)
	}

	var (
		mu       sync.Mutex
		accepted = map[string]jobs.ID{} // idempotency key → the job the client was answered
		faults   []string
	)
	fault := func(f string) {
		mu.Lock()
		faults = append(faults, f)
		mu.Unlock()
		t.Log(f)
	}
	// submit posts one request, retrying it with the same key on either
	// gateway until one answers with a job, as a client does.
	submit := func(key string, first int) {
		for try := 0; try < 40; try++ {
			gw := c.gateways[(first+try)%len(c.gateways)]
			id, status, err := postIdem(httpc, "http://"+gw.http, key, body(key))
			if err == nil && (status == http.StatusAccepted || status == http.StatusOK) {
				mu.Lock()
				accepted[key] = jobs.ID(id)
				mu.Unlock()
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("request %s never accepted", key)
	}

	// A steady stream of requests while the faults happen.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(60 * time.Millisecond):
			}
			submit(fmt.Sprintf("steady-%d", i), i)
		}
	}()
	time.Sleep(2 * time.Second)

	// 1. A worker frozen mid-render past its TTL, then woken.
	if w := c.workerRunning(t, store); w != nil {
		fault(fmt.Sprintf("SIGSTOP %s mid-render for 4s (heartbeat TTL 1s + 1s grace)", w.name))
		w.signal(syscall.SIGSTOP)
		time.Sleep(4 * time.Second)
		w.signal(syscall.SIGCONT)
	} else {
		t.Error("no worker was rendering to freeze")
	}
	time.Sleep(2 * time.Second)

	// 2. The leading scheduler frozen past its lease, then woken.
	if i := c.schedulerLeader(cli); i >= 0 {
		fault(fmt.Sprintf("SIGSTOP %s (the leader) for 6s (election TTL 2s)", c.schedulers[i].name))
		c.schedulers[i].signal(syscall.SIGSTOP)
		time.Sleep(6 * time.Second)
		c.schedulers[i].signal(syscall.SIGCONT)
	} else {
		t.Error("no scheduler leader to freeze")
	}
	time.Sleep(2 * time.Second)

	// 3. A gateway killed while a POST is in flight; the client retries
	// the same request on the other gateway.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 13))
	for k := 0; k < 4; k++ {
		gi := k % len(c.gateways)
		gw := c.gateways[gi]
		key := fmt.Sprintf("killed-%d", k)
		inflight := make(chan struct{})
		go func() {
			close(inflight)
			_, _, _ = postIdem(httpc, "http://"+gw.http, key, body(key))
		}()
		<-inflight
		time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
		fault(fmt.Sprintf("kill -9 %s with %s in flight; retried on the other gateway", gw.name, key))
		gw.kill9()
		submit(key, gi+1)
		gw.start()
		gw.waitHealthy(30 * time.Second)
	}
	close(stop)
	wg.Wait()

	// Every accepted job ends, succeeded, once.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		pending := 0
		for _, id := range accepted {
			if j, err := store.Get(ctx, id); err != nil || !j.Status.Terminal() {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted jobs not terminal", pending, len(accepted))
		}
		time.Sleep(500 * time.Millisecond)
	}
	blobs := filepath.Join(c.dir, "data", "blobs")
	perKey := map[string][]jobs.ID{}
	recorded := map[string]bool{}
	completions, dupes := 0, 0
	if err := store.Scan(ctx, func(j *jobs.Job) error {
		if req := j.Metadata["req"]; req != "" {
			perKey[req] = append(perKey[req], j.ID)
		}
		if j.Status != jobs.Succeeded {
			t.Errorf("job %s (%s) ended %s: %+v", j.ID, j.Metadata["req"], j.Status, j.Error)
			return nil
		}
		completions += j.Completions
		if j.Completions != 1 {
			t.Errorf("job %s completed %d times", j.ID, j.Completions)
		}
		o := j.Output
		if !strings.HasSuffix(o.Key, fmt.Sprintf("/%s-%d.mp4", j.ID, j.Fence)) {
			t.Errorf("job %s: output key %s does not name the accepted attempt (fence %d)", j.ID, o.Key, j.Fence)
		}
		recorded[filepath.FromSlash(o.Key)] = true
		st, err := os.Stat(filepath.Join(blobs, filepath.FromSlash(o.Key)))
		if err != nil || st.Size() != o.Bytes {
			t.Errorf("job %s: output %s: %v, size %v, recorded %d", j.ID, o.Key, err, st, o.Bytes)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for key, id := range accepted {
		if got := perKey[key]; len(got) != 1 || got[0] != id {
			dupes++
			t.Errorf("request %s: jobs %v, the client was answered %s", key, got, id)
		}
	}
	// Refused attempts' files are removed (asynchronously, after the ack).
	var stray []string
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		stray = stray[:0]
		_ = filepath.Walk(filepath.Join(blobs, "outputs"), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				rel, _ := filepath.Rel(blobs, p)
				if !recorded[rel] {
					stray = append(stray, rel)
				}
			}
			return nil
		})
		if len(stray) == 0 || time.Now().After(end) {
			break
		}
	}
	if len(stray) > 0 {
		t.Errorf("outputs no record names: %v", stray)
	}
	reassigned := 0
	_ = store.Scan(ctx, func(j *jobs.Job) error {
		if j.Attempts > 1 {
			reassigned++
		}
		return nil
	})
	if reassigned == 0 {
		t.Error("no job was reassigned: the frozen worker held none past its TTL")
	}
	removed := countLogLines(t, c.workers, "removed the output of a refused attempt")
	deposedLog := countLogLines(t, c.schedulers, "leadership term")
	late := c.writesAfterTermEnded(t, cli, startRev)
	for _, l := range late {
		t.Error(l)
	}
	t.Logf("cluster under pauses: %d requests accepted, %d jobs, %d completions, %d duplicate jobs per key, %d jobs reassigned, "+
		"%d refused attempts' outputs removed, %d deposed-leader refusals logged, %d late writes by deposed leaders; faults: %s",
		len(accepted), len(perKey), completions, dupes, reassigned, removed, deposedLog, len(late), strings.Join(faults, "; "))
}

// countLogLines counts the lines holding s in the processes' logs.
func countLogLines(t *testing.T, ps []*proc, s string) int {
	n := 0
	for _, p := range ps {
		b, err := os.ReadFile(p.log.Name())
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(b), s)
	}
	return n
}

// postIdem posts a render with an Idempotency-Key.
func postIdem(c *http.Client, base, key string, body []byte) (string, int, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/renders", bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	var j struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		return "", resp.StatusCode, err
	}
	return j.ID, resp.StatusCode, nil
}

// workerRunning returns a worker process that holds a running job now.
func (c *cluster) workerRunning(t *testing.T, store *jobstore.Store) *proc {
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		var found *proc
		_ = store.Scan(context.Background(), func(j *jobs.Job) error {
			if found == nil && j.Status == jobs.Running && j.Worker != nil {
				for i, w := range c.workers {
					if *j.Worker == fmt.Sprintf("w%d", i) {
						found = w
					}
				}
			}
			return nil
		})
		if found != nil {
			return found
		}
	}
	return nil
}

func mustRev(t *testing.T, cli *clientv3.Client) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "health-probe")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// writesAfterTermEnded reads etcd's history since from: when each
// scheduler term (an election key) ended, and which term each job write
// was made under; a write stamped with a term at a revision after that
// term's end is a write by a deposed leader.
func (c *cluster) writesAfterTermEnded(t *testing.T, cli *clientv3.Client, from int64) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := mustRev(t, cli)
	ended := map[int64]int64{} // term (create revision) → revision of its end
	terms := 0
	for ev := range historyOf(ctx, t, cli, "/stickerd/scheduler/leader/", from, now) {
		if ev.Type == clientv3.EventTypeDelete && ev.PrevKv != nil {
			ended[ev.PrevKv.CreateRevision] = ev.Kv.ModRevision
		}
		if ev.IsCreate() {
			terms++
		}
	}
	var late []string
	writes := 0
	for ev := range historyOf(ctx, t, cli, jobstore.DefaultPrefix+"/jobs/", from, now) {
		if ev.Type != clientv3.EventTypePut {
			continue
		}
		var j jobs.Job
		if json.Unmarshal(ev.Kv.Value, &j) != nil || j.Term == 0 {
			continue
		}
		writes++
		if end, ok := ended[j.Term]; ok && ev.Kv.ModRevision > end {
			late = append(late, fmt.Sprintf("job %s written at revision %d under term %d, which ended at %d", j.ID, ev.Kv.ModRevision, j.Term, end))
		}
	}
	t.Logf("etcd history: %d scheduler terms began, %d ended; %d job writes under a term", terms, len(ended), writes)
	if writes == 0 {
		t.Error("no job write carried a term: the fencing is not wired")
	}
	return late
}

// historyOf replays the events under prefix in (from, to]. A progress
// notification at or past to says the replay is complete (asked for until
// it comes: one asked before the watch exists is not answered).
func historyOf(ctx context.Context, t *testing.T, cli *clientv3.Client, prefix string, from, to int64) <-chan *clientv3.Event {
	out := make(chan *clientv3.Event, 1024)
	go func() {
		defer close(out)
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		defer cancel()
		w := clientv3.NewWatcher(cli)
		defer w.Close()
		ch := w.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(from+1), clientv3.WithPrevKV())
		go func() {
			for wctx.Err() == nil {
				_ = w.RequestProgress(wctx)
				select {
				case <-wctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
		for resp := range ch {
			if err := resp.Err(); err != nil {
				t.Errorf("history of %s: %v", prefix, err)
				return
			}
			for _, ev := range resp.Events {
				if ev.Kv.ModRevision > to {
					return
				}
				out <- ev
			}
			if resp.IsProgressNotify() && resp.Header.Revision >= to {
				return
			}
		}
	}()
	return out
}
