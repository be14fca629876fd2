package main

import (
	"bufio"
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/tlsconf"
)

// TestCluster_TLS runs the multi-process cluster once with TLS wherever
// stickerd has it: etcd members serve clients and peers over TLS and
// require client certificates; the schedulers' gRPC requires client
// certificates of the cluster CA and a join token; gateways and the edge
// serve HTTPS. Certificates come from `stickerd certs`. Jobs submitted
// over HTTPS all succeed, rendered by the authenticated workers only,
// while three impostor workers (no certificate; a certificate of another
// CA; a valid certificate but a wrong token) are refused, counted in
// stickerd_scheduler_auth_refused_total, and get no job. A plain-text
// gRPC client, a plain http:// request to a gateway and a plain etcd
// client get nothing either. The embedded Kafka broker has no TLS; Kafka
// TLS and SASL are tested in internal/queue.
func TestCluster_TLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a multi-process cluster")
	}
	dir := t.TempDir()
	certs, otherCerts := filepath.Join(dir, "certs"), filepath.Join(dir, "other-certs")
	runCertsCmd(t, "--out", certs)
	runCertsCmd(t, "--out", otherCerts, "--services", "worker")
	file := func(name string) string { return filepath.Join(certs, name) }
	const token = "cluster-join-token-0123456789"
	pair := func(svc string) []string {
		return []string{"--tls-cert", file(svc + ".crt"), "--tls-key", file(svc + ".key"), "--tls-ca", file("ca.crt")}
	}
	caClient, err := tlsconf.Config{CAFile: file("ca.crt")}.Client()
	if err != nil {
		t.Fatal(err)
	}
	httpc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: caClient}}
	c := startClusterWith(t, 2, dir, clusterOpts{
		etcdTLS: true,
		https:   map[string]bool{"gateway": true, "edge": true},
		client:  httpc,
		args: func(name, role string) []string {
			if strings.HasPrefix(name, "impostor") {
				return nil
			}
			switch role {
			case "kv":
				return pair("etcd")
			case "gateway":
				return pair(role)
			case "scheduler", "worker", "edge":
				return append(pair(role), "--join-token", token)
			}
			return nil
		},
	})
	schedulers := strings.Join(c.schedulerAddrs, ",")
	var impostors []*proc
	for _, imp := range []struct {
		name string
		args []string
	}{
		{"impostor-nocert", []string{"--tls-ca", file("ca.crt"), "--join-token", token}},
		{"impostor-otherca", []string{"--tls-ca", file("ca.crt"), "--tls-cert", filepath.Join(otherCerts, "worker.crt"),
			"--tls-key", filepath.Join(otherCerts, "worker.key"), "--join-token", token}},
		{"impostor-token", append(pair("worker"), "--join-token", token+"-guess")},
	} {
		p := c.add(&impostors, imp.name, append([]string{"worker", "--id", imp.name, "--concurrency", "1", "--schedulers", schedulers,
			"--data-dir", filepath.Join(dir, "data")}, imp.args...)...)
		p.waitHealthy(60 * time.Second)
	}

	ctx := context.Background()
	etcdTLS, err := tlsconf.Config{CAFile: file("ca.crt"), CertFile: file("gateway.crt"), KeyFile: file("gateway.key")}.Client()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := etcd.DialConfig(ctx, etcd.ClientConfig{Endpoints: strings.Split(c.etcdClients, ","), TLS: etcdTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	store := jobstore.New(cli, jobstore.DefaultPrefix)

	body := []byte(`{"source":{"color":"#00AA00","width":96,"height":64,"duration":0.5,"fps":10},
		"stickers":[{"type":"image","builtin":"heart","width":0.5}],"output":{"quality":"draft"}}`)
	var ids []jobs.ID
	for i := 0; i < 20; i++ {
		gw := c.gateways[i%len(c.gateways)]
		id, status, err := postRender(httpc, gw.base(), body)
		if err != nil || status != http.StatusAccepted {
			t.Fatalf("submit over HTTPS to %s: %d %v", gw.name, status, err)
		}
		ids = append(ids, jobs.ID(id))
	}
	deadline := time.Now().Add(3 * time.Minute)
	for _, id := range ids {
		for {
			j, err := store.Get(ctx, id)
			if err == nil && j.Status.Terminal() {
				if j.Status != jobs.Succeeded {
					t.Errorf("job %s ended %s: %+v", id, j.Status, j.Error)
				}
				if j.Worker == nil || strings.HasPrefix(*j.Worker, "impostor") {
					t.Errorf("job %s rendered by %v", id, j.Worker)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s not finished: %+v %v", id, j, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// A plain-text gRPC client gets no answer from a scheduler.
	conn, err := grpc.NewClient(c.schedulerAddrs[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{})
	cancel()
	conn.Close()
	if err == nil {
		t.Error("a plain-text gRPC client talked to the scheduler")
	}

	// Every kind of refusal is counted by the schedulers.
	for _, reason := range []string{tlsconf.ReasonNoCertificate, tlsconf.ReasonBadCertificate, tlsconf.ReasonToken, tlsconf.ReasonPlaintext} {
		var n float64
		for end := time.Now().Add(20 * time.Second); n == 0 && time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			n = 0
			for _, s := range c.schedulers {
				n += scrapeCounter(t, "http://"+s.http+"/metrics", `stickerd_scheduler_auth_refused_total{reason="`+reason+`"}`)
			}
		}
		if n == 0 {
			t.Errorf("no refusal counted with reason %s", reason)
		}
	}

	// A plain http:// request to a gateway is not served.
	if resp, err := http.Get("http://" + c.gateways[0].http + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("a gateway served /healthz over plain http")
		}
	}
	// Nor does a plain etcd client reach the members.
	plain := strings.ReplaceAll(c.etcdClients, "https://", "http://")
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	if pc, err := etcd.Dial(dctx, strings.Split(plain, ",")); err == nil {
		pc.Close()
		t.Error("a plain-text etcd client reached the members")
	}
	cancel()

	// The edge heartbeats over mutual TLS; a gateway places a session on
	// its https:// address.
	noFollow := &http.Client{Timeout: 5 * time.Second, Transport: httpc.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	placed := false
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end) && !placed; time.Sleep(200 * time.Millisecond) {
		resp, err := noFollow.Post(c.gateways[0].base()+"/v1/rtc/sessions", "application/sdp", strings.NewReader("v=0"))
		if err == nil {
			resp.Body.Close()
			placed = resp.StatusCode == http.StatusTemporaryRedirect && strings.HasPrefix(resp.Header.Get("Location"), "https://"+c.edges[0].http)
		}
	}
	if !placed {
		t.Error("no gateway placed a realtime session on the edge over https")
	}
}

// scrapeCounter reads one sample of a Prometheus text page; 0 when absent.
func scrapeCounter(t *testing.T, url, sample string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
