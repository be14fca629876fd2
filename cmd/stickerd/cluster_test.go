package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
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

// proc is one stickerd process of the cluster, restartable with the same
// arguments.
type proc struct {
	t    *testing.T
	name string
	bin  string
	args []string
	http string
	log  *os.File
	mu   sync.Mutex
	cmd  *exec.Cmd
	// scheme and client speak to http ("https" for a process serving
	// TLS, cluster_tls_test.go); "" and nil: plain HTTP.
	scheme string
	client *http.Client
}

// base is the process's HTTP base URL.
func (p *proc) base() string { return cmpOr(p.scheme, "http") + "://" + p.http }

func (p *proc) httpClient() *http.Client {
	if p.client != nil {
		return p.client
	}
	return http.DefaultClient
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (p *proc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.Env = append(os.Environ(), "STICKERD_LOG_LEVEL=warn")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	p.cmd = cmd
	go cmd.Wait()
}

// kill9 stops the process group as kill -9 does.
func (p *proc) kill9() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		p.cmd = nil
	}
}

func (p *proc) waitHealthy(d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := p.httpClient().Get(p.base() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s not healthy after %s (log %s)", p.name, d, p.log.Name())
}

// handedOut are the addresses freeAddr and reserve gave this test binary:
// a port is free when it is handed out, and the kernel may hand it out
// again before its process listens on it, so a later call never returns
// one of these.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

func freeAddr(t *testing.T) string {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if reserve(addr) {
			return addr
		}
	}
}

// reserve records addr as handed out; false if it was already.
func reserve(addr string) bool {
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.addrs[addr] {
		return false
	}
	handedOut.addrs[addr] = true
	return true
}

type cluster struct {
	t                      *testing.T
	dir, bin               string
	kv, kafka, schedulers  []*proc
	workers, gateways      []*proc
	edges                  []*proc
	etcdClients, kafkaAddr string
	schedulerAddrs         []string
	opts                   clusterOpts
}

// clusterOpts vary the cluster (cluster_tls_test.go): more arguments per
// process, the subcommands that serve HTTPS, and etcd over https://.
type clusterOpts struct {
	args    func(name, role string) []string
	https   map[string]bool
	client  *http.Client
	etcdTLS bool
}

func (c *cluster) add(group *[]*proc, name string, args ...string) *proc {
	httpAddr := freeAddr(c.t)
	f, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.opts.args != nil {
		args = append(args, c.opts.args(name, args[0])...)
	}
	p := &proc{t: c.t, name: name, bin: c.bin, args: append(args, "--http-addr", httpAddr), http: httpAddr, log: f}
	if c.opts.https[args[0]] {
		p.scheme, p.client = "https", c.opts.client
	}
	*group = append(*group, p)
	p.start()
	c.t.Cleanup(func() { p.kill9(); f.Close() })
	return p
}

func startCluster(t *testing.T, workers int) *cluster {
	return startClusterWith(t, workers, t.TempDir(), clusterOpts{})
}

func startClusterWith(t *testing.T, workers int, dir string, opts clusterOpts) *cluster {
	c := &cluster{t: t, dir: dir, bin: filepath.Join(dir, "stickerd"), opts: opts}
	if out, err := exec.Command("go", "build", "-o", c.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	clients, peers, err := etcd.FreeLocalURLs(3)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range append(append([]string{}, clients...), peers...) {
		reserve(strings.TrimPrefix(u, "http://")) // so that freeAddr never hands them out again
	}
	for i := range clients {
		if opts.etcdTLS {
			clients[i], peers[i] = strings.Replace(clients[i], "http:", "https:", 1), strings.Replace(peers[i], "http:", "https:", 1)
		}
	}
	var initial []string
	for i := range peers {
		initial = append(initial, fmt.Sprintf("m%d=%s", i, peers[i]))
	}
	for i := range clients {
		c.add(&c.kv, fmt.Sprintf("kv%d", i), "kv", "--name", fmt.Sprintf("m%d", i), "--data-dir", filepath.Join(dir, fmt.Sprintf("etcd%d", i)),
			"--client-urls", clients[i], "--peer-urls", peers[i], "--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new")
	}
	c.etcdClients = strings.Join(clients, ",")
	c.kafkaAddr = freeAddr(t)
	c.add(&c.kafka, "kafka", "kafka", "--kafka-listen", c.kafkaAddr)
	for i := 0; i < 2; i++ {
		addr := freeAddr(t)
		c.schedulerAddrs = append(c.schedulerAddrs, addr)
		c.add(&c.schedulers, fmt.Sprintf("scheduler%d", i), "scheduler", "--id", fmt.Sprintf("s%d", i), "--grpc-addr", addr,
			"--etcd-endpoints", c.etcdClients, "--kafka-brokers", c.kafkaAddr,
			"--heartbeat-interval", "200ms", "--heartbeat-ttl", "1s", "--election-ttl", "2s")
	}
	for i := 0; i < workers; i++ {
		c.add(&c.workers, fmt.Sprintf("worker%d", i), "worker", "--id", fmt.Sprintf("w%d", i), "--concurrency", "1",
			"--schedulers", strings.Join(c.schedulerAddrs, ","), "--data-dir", filepath.Join(dir, "data"))
	}
	for i := 0; i < 2; i++ {
		c.add(&c.gateways, fmt.Sprintf("gateway%d", i), "gateway", "--etcd-endpoints", c.etcdClients,
			"--kafka-brokers", c.kafkaAddr, "--data-dir", filepath.Join(dir, "data"), "--rate-limit", "0")
	}
	c.add(&c.edges, "edge", "edge", "--id", "edge-0", "--schedulers", strings.Join(c.schedulerAddrs, ","),
		"--data-dir", filepath.Join(dir, "data"))
	for _, group := range [][]*proc{c.kv, c.kafka, c.schedulers, c.workers, c.gateways, c.edges} {
		for _, p := range group {
			p.waitHealthy(60 * time.Second)
		}
	}
	return c
}

// etcdLeader returns the index of the member that leads, or -1.
func (c *cluster) etcdLeader(cli *clientv3.Client) int {
	for i, ep := range strings.Split(c.etcdClients, ",") {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := cli.Status(ctx, ep)
		cancel()
		if err == nil && st.Leader == st.Header.MemberId {
			return i
		}
	}
	return -1
}

// schedulerLeader returns the index of the dispatching replica, or -1.
func (c *cluster) schedulerLeader(cli *clientv3.Client) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/stickerd/scheduler/leader/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(1))
	if err != nil || len(resp.Kvs) == 0 {
		return -1
	}
	for i, a := range c.schedulerAddrs {
		if a == string(resp.Kvs[0].Value) {
			return i
		}
	}
	return -1
}

// TestCluster_JobsSurviveKills runs the distributed topology as separate
// processes on loopback (3 etcd members, a broker, 2 gateways taking
// submissions in turn, 2 schedulers, 3 workers) and kill -9s a worker, the dispatching scheduler
// and the etcd leader at random moments while jobs flow, restarting each.
// Every accepted job must end in exactly one terminal state, succeeded,
// with a valid output, and none may complete twice.
func TestCluster_JobsSurviveKills(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a multi-process cluster")
	}
	const total = 300
	c := startCluster(t, 3)
	ctx := context.Background()
	cli, err := etcd.Dial(ctx, strings.Split(c.etcdClients, ","))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	store := jobstore.New(cli, jobstore.DefaultPrefix)
	body := []byte(`{"source":{"color":"#0000FF","width":96,"height":64,"duration":0.5,"fps":10},
		"stickers":[{"type":"image","builtin":"heart","width":0.5}],"output":{"quality":"draft"}}`)
	httpc := &http.Client{Timeout: 10 * time.Second}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	killAt := map[int]string{rng.IntN(60) + 20: "worker", rng.IntN(60) + 100: "scheduler", rng.IntN(60) + 180: "etcd"}
	var ids []jobs.ID
	rejected := 0
	for i := 0; i < total; i++ {
		if what, ok := killAt[i]; ok {
			c.kill(t, cli, what)
		}
		gw := c.gateways[i%len(c.gateways)] // both gateways take submissions
		id, status, err := postRender(httpc, "http://"+gw.http, body)
		if err != nil || status != http.StatusAccepted {
			rejected++ // a 503 to the client during the etcd election; never an accepted job
			continue
		}
		ids = append(ids, jobs.ID(id))
		time.Sleep(15 * time.Millisecond)
	}
	deadline := time.Now().Add(4 * time.Minute)
	counts := map[jobs.Status]int{}
	for {
		counts = map[jobs.Status]int{}
		done := true
		for _, id := range ids {
			j, err := store.Get(ctx, id)
			if err != nil || !j.Status.Terminal() {
				done = false
				if err == nil {
					counts[j.Status]++
				}
				continue
			}
			counts[j.Status]++
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every accepted job finished: %v", counts)
		}
		time.Sleep(500 * time.Millisecond)
	}
	dataDir := filepath.Join(c.dir, "data", "blobs")
	twice := 0
	for i, id := range ids {
		j, _ := store.Get(ctx, id)
		if j.Status != jobs.Succeeded {
			t.Errorf("job %s ended %s: %+v", id, j.Status, j.Error)
			continue
		}
		if j.Completions != 1 {
			twice++
		}
		b, err := os.ReadFile(filepath.Join(dataDir, filepath.FromSlash(j.Output.Key)))
		if err == nil && i%50 == 0 {
			// Spot-check through a gateway too: the output downloads.
			if resp, err := httpc.Get("http://" + c.gateways[1].http + "/v1/renders/" + string(id) + "/output"); err != nil || resp.StatusCode != 200 {
				t.Errorf("job %s: output not served by the gateway: %v", id, err)
			} else {
				resp.Body.Close()
			}
		}
		if err != nil || len(b) < 12 || string(b[4:8]) != "ftyp" {
			t.Errorf("job %s: output %s is missing or not an mp4", id, j.Output.Key)
		}
	}
	if twice > 0 {
		t.Errorf("%d jobs completed more than once", twice)
	}
	// The edge heartbeats to the (new) leader: a gateway places a realtime
	// session on it.
	noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	placed := false
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end) && !placed; time.Sleep(200 * time.Millisecond) {
		resp, err := noFollow.Post("http://"+c.gateways[0].http+"/v1/rtc/sessions", "application/sdp", strings.NewReader("v=0"))
		if err == nil {
			resp.Body.Close()
			placed = resp.StatusCode == http.StatusTemporaryRedirect && strings.HasPrefix(resp.Header.Get("Location"), "http://"+c.edges[0].http)
		}
	}
	if !placed {
		t.Error("no gateway placed a realtime session on the edge")
	}
	if len(ids) < total*8/10 {
		t.Errorf("only %d of %d submissions accepted", len(ids), total)
	}
	t.Logf("submitted %d, accepted %d (rejected %d during elections), terminal: %v, completed twice: %d",
		total, len(ids), rejected, counts, twice)
}

// postRender submits a spec to a gateway and returns the job id and status.
func postRender(c *http.Client, base string, body []byte) (string, int, error) {
	resp, err := c.Post(base+"/v1/renders", "application/json", bytes.NewReader(body))
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

// kill stops one process as kill -9 does and starts it again shortly after.
func (c *cluster) kill(t *testing.T, cli *clientv3.Client, what string) {
	var p *proc
	switch what {
	case "worker":
		p = c.workers[rand.IntN(len(c.workers))]
	case "scheduler":
		if i := c.schedulerLeader(cli); i >= 0 {
			p = c.schedulers[i]
		}
	case "etcd":
		if i := c.etcdLeader(cli); i >= 0 {
			p = c.kv[i]
		}
	}
	if p == nil {
		t.Logf("no %s leader to kill", what)
		return
	}
	t.Logf("kill -9 %s", p.name)
	p.kill9()
	go func() {
		time.Sleep(2 * time.Second)
		p.start()
	}()
}
