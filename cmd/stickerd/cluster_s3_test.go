package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/blob/s3test"
	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/services/assets/assetstest"
	"github.com/stickerd/stickerd/services/gateway"
)

// s3Env points this test's processes at srv's bucket through the standard
// AWS variables (the children inherit the test's environment).
func s3Env(t *testing.T, srv *s3test.Server) {
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// uploadAsset posts body to base/v1/assets and returns the status and id.
func uploadAsset(t *testing.T, c *http.Client, base string, body []byte, ct string) (int, string) {
	t.Helper()
	resp, err := c.Post(base+"/v1/assets", ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a struct{ ID string }
	json.Unmarshal(b, &a)
	if a.ID == "" {
		t.Fatalf("upload to %s: %d %s", base, resp.StatusCode, b)
	}
	return resp.StatusCode, a.ID
}

// getRange downloads url with a Range header.
func getRange(c *http.Client, url, rng string) (*http.Response, []byte, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Range", rng)
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// readObject reads a whole object of st.
func readObject(ctx context.Context, st blob.Store, key string) ([]byte, error) {
	o, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

// TestCluster_S3 runs the multi-process cluster once with the blob store
// in an S3 bucket (versitygw, under a prefix): gateways, workers,
// schedulers (retention) and the edge take --blob-url s3://…, and every
// gateway, worker and edge has its own --data-dir, so no two processes
// share a folder. A sticker is uploaded through one gateway (the same bytes
// through the other are deduplicated to the same asset); jobs that use it
// are submitted through both gateways, so the workers read it from the
// bucket. A worker is killed -9 while it renders and restarted. Every job
// must succeed exactly once, its output must be in the bucket with the
// recorded size, and a gateway serves it, a Range request included.
func TestCluster_S3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a multi-process cluster")
	}
	const total = 30
	srv := s3test.Start(t)
	s3Env(t, srv)
	const prefix = "cluster"
	blobArgs := []string{"--blob-url", "s3://" + s3test.Bucket + "/" + prefix, "--s3-endpoint", srv.Endpoint, "--s3-path-style"}
	dir := t.TempDir()
	c := startClusterWith(t, 3, dir, clusterOpts{args: func(name, role string) []string {
		switch role {
		case "scheduler":
			return blobArgs
		case "gateway", "worker", "edge":
			// The later --data-dir wins over startClusterWith's shared one.
			return append([]string{"--data-dir", filepath.Join(dir, name+"-data")}, blobArgs...)
		}
		return nil
	}})
	ctx := context.Background()
	cli, err := etcd.Dial(ctx, strings.Split(c.etcdClients, ","))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	store := jobstore.New(cli, jobstore.DefaultPrefix)
	httpc := &http.Client{Timeout: 20 * time.Second}

	png := assetstest.PNG(t, 40, 30)
	status, asset := uploadAsset(t, httpc, c.gateways[0].base(), png, "image/png")
	if status != http.StatusCreated {
		t.Fatalf("first upload: %d", status)
	}
	if status, again := uploadAsset(t, httpc, c.gateways[1].base(), png, "image/png"); status != http.StatusOK || again != asset {
		t.Errorf("the same bytes through the other gateway: %d %s, want 200 %s", status, again, asset)
	}
	bucket := srv.Store(prefix)
	if b, err := readObject(ctx, bucket, blob.AssetKey(gateway.DefaultTenant, asset)); err != nil || !bytes.Equal(b, png) {
		t.Fatalf("the upload is not in the bucket: %v (%d bytes)", err, len(b))
	}

	body := []byte(fmt.Sprintf(`{"source":{"color":"#0000FF","width":160,"height":120,"duration":2,"fps":10},
		"stickers":[{"type":"image","asset_id":%q,"width":0.5}],"output":{"quality":"draft"}}`, asset))
	var ids []jobs.ID
	submit := func(n int) {
		for i := 0; i < n; i++ {
			gw := c.gateways[len(ids)%len(c.gateways)] // both gateways take submissions
			id, status, err := postRender(httpc, gw.base(), body)
			if err != nil || status != http.StatusAccepted {
				t.Fatalf("submit to %s: %d %v", gw.name, status, err)
			}
			ids = append(ids, jobs.ID(id))
		}
	}
	submit(total / 2)

	// Kill -9 a worker while it renders one of the jobs, then restart it.
	kills := 0
	var victim *proc
	var victimJob jobs.ID
	for end := time.Now().Add(60 * time.Second); victim == nil && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, id := range ids {
			j, err := store.Get(ctx, id)
			if err != nil || j.Status != jobs.Running || j.Worker == nil {
				continue
			}
			for _, w := range c.workers {
				if "w"+strings.TrimPrefix(w.name, "worker") == *j.Worker {
					victim, victimJob = w, id
				}
			}
			if victim != nil {
				break
			}
		}
	}
	if victim == nil {
		t.Fatal("no job was seen running in 60s")
	}
	t.Logf("kill -9 %s while it renders %s", victim.name, victimJob)
	killedAt := time.Now()
	victim.kill9()
	kills++
	submit(total - len(ids))
	time.Sleep(2 * time.Second)
	victim.start()
	victim.waitHealthy(60 * time.Second)

	deadline := time.Now().Add(4 * time.Minute)
	var counts map[jobs.Status]int
	for {
		counts = map[jobs.Status]int{}
		done := true
		for _, id := range ids {
			j, err := store.Get(ctx, id)
			if err != nil {
				done = false
				continue
			}
			counts[j.Status]++
			done = done && j.Status.Terminal()
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every job finished: %v", counts)
		}
		time.Sleep(300 * time.Millisecond)
	}

	completions, attempts, ranged := 0, 0, 0
	for i, id := range ids {
		j, err := store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		completions += j.Completions
		attempts += j.Attempts
		if j.Status != jobs.Succeeded || j.Output == nil {
			t.Errorf("job %s ended %s: %+v", id, j.Status, j.Error)
			continue
		}
		if j.Completions != 1 {
			t.Errorf("job %s completed %d times", id, j.Completions)
		}
		whole, err := readObject(ctx, bucket, j.Output.Key)
		if err != nil || int64(len(whole)) != j.Output.Bytes || len(whole) < 300 || string(whole[4:8]) != "ftyp" {
			t.Errorf("job %s: output %s in the bucket: %v, %d bytes, the job says %d", id, j.Output.Key, err, len(whole), j.Output.Bytes)
			continue
		}
		if i%5 != 0 && id != victimJob {
			continue
		}
		// Through a gateway (the one that did not take it, for half of
		// them): a Range request, then the whole file.
		gw := c.gateways[(i/5)%len(c.gateways)]
		url := gw.base() + "/v1/renders/" + string(id) + "/output"
		resp, got, err := getRange(httpc, url, "bytes=100-299")
		if err != nil {
			t.Errorf("job %s: Range from %s: %v", id, gw.name, err)
			continue
		}
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, whole[100:300]) ||
			resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-299/%d", len(whole)) {
			t.Errorf("job %s: Range from %s: %d %q, %d bytes", id, gw.name, resp.StatusCode, resp.Header.Get("Content-Range"), len(got))
			continue
		}
		resp, err = httpc.Get(url)
		if err != nil {
			t.Errorf("job %s: download from %s: %v", id, gw.name, err)
			continue
		}
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, whole) {
			t.Errorf("job %s: download from %s: %d, %d of %d bytes", id, gw.name, resp.StatusCode, len(got), len(whole))
			continue
		}
		ranged++
	}
	// The job the killed worker was rendering ran again elsewhere (unless
	// it finished in the moment between being seen running and the kill).
	if j, _ := store.Get(ctx, victimJob); j.Attempts < 2 && (j.FinishedAt == nil || j.FinishedAt.After(killedAt)) {
		t.Errorf("job %s, running on the killed worker, took %d attempt(s)", victimJob, j.Attempts)
	}
	// No process wrote the shared folder startClusterWith names: each has
	// its own, and the blobs are in the bucket.
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("a process used the shared data folder: %v", err)
	}
	var keys []string
	for _, k := range srv.Keys(t) {
		if !strings.HasPrefix(k, prefix+"/") {
			t.Errorf("object %s outside the prefix %s/", k, prefix)
		}
		keys = append(keys, k)
	}
	t.Logf("%d jobs through 2 gateways, %d worker kill, terminal %v, %d completions in %d attempts, %d outputs downloaded with Range; %d objects in the bucket",
		len(ids), kills, counts, completions, attempts, ranged, len(keys))
}

// TestDev_S3 runs `stickerd dev` as a process with its blob store in an
// S3 bucket (versitygw), credentials from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY: an upload and one job's output go into the
// bucket, none into DATA_DIR/blobs, and the output is served with Range.
func TestDev_S3(t *testing.T) {
	if testing.Short() {
		t.Skip("runs stickerd dev")
	}
	srv := s3test.Start(t)
	bin := stickerdBin(t)
	dir := t.TempDir()
	httpAddr := freeAddr(t)
	args := []string{"dev", "--http-addr", httpAddr, "--data-dir", filepath.Join(dir, "data"),
		"--kafka-listen", "127.0.0.1:0", "--etcd-listen-client", freeAddr(t), "--etcd-listen-peer", freeAddr(t),
		"--grpc-addr", "127.0.0.1:0",
		"--blob-url", "s3://" + s3test.Bucket, "--s3-endpoint", srv.Endpoint, "--s3-path-style"}
	base, _ := startDevProc(t, bin, dir, args, "AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
	httpc := &http.Client{Timeout: 20 * time.Second}
	png := assetstest.PNG(t, 40, 30)
	status, asset := uploadAsset(t, httpc, base, png, "image/png")
	if status != http.StatusCreated {
		t.Fatalf("upload: %d", status)
	}
	id, status, err := postRender(httpc, base, []byte(fmt.Sprintf(`{"source":{"color":"#00AA00","width":160,"height":120,"duration":1,"fps":10},
		"stickers":[{"type":"image","asset_id":%q,"width":0.5}],"output":{"quality":"draft"}}`, asset)))
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("submit: %d %v", status, err)
	}
	var job struct {
		Status string
		Output *struct{ Bytes int64 }
		Error  any
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		resp, err := httpc.Get(base + "/v1/renders/" + id)
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&job)
			resp.Body.Close()
		}
		if job.Status == "succeeded" || job.Status == "failed" || job.Status == "canceled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not finished in 2m: %+v", id, job)
		}
	}
	if job.Status != "succeeded" {
		t.Fatalf("job %s ended %s: %v", id, job.Status, job.Error)
	}

	resp, err := httpc.Get(base + "/v1/renders/" + id + "/output")
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(whole) < 300 || string(whole[4:8]) != "ftyp" {
		t.Fatalf("output: %d, %d bytes", resp.StatusCode, len(whole))
	}
	if job.Output != nil && job.Output.Bytes != int64(len(whole)) {
		t.Errorf("served %d bytes, the job says %d", len(whole), job.Output.Bytes)
	}
	rresp, part, err := getRange(httpc, base+"/v1/renders/"+id+"/output", "bytes=100-299")
	if err != nil || rresp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, whole[100:300]) {
		t.Fatalf("Range: %v %d bytes", err, len(part))
	}

	var outputs, assets int
	for _, k := range srv.Keys(t) {
		switch {
		case strings.HasPrefix(k, "assets/"):
			assets++
		case bytes.Equal(objectOrNil(t, srv, k), whole):
			outputs++
		}
	}
	if assets != 1 || outputs != 1 {
		t.Errorf("bucket holds %d uploads and %d copies of the output, want 1 and 1: %v", assets, outputs, srv.Keys(t))
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "data", "blobs")); err == nil && len(ents) > 0 {
		t.Errorf("blobs written to DATA_DIR/blobs although --blob-url is s3://: %d entries", len(ents))
	}
}

// objectOrNil is a whole object of srv's bucket, nil when it cannot be read.
func objectOrNil(t *testing.T, srv *s3test.Server, key string) []byte {
	b, err := readObject(context.Background(), srv.Store(""), key)
	if err != nil {
		return nil
	}
	return b
}
