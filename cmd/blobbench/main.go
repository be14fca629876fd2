// Command blobbench measures what a large upload costs the gateway in
// memory: it streams SIZE bytes of pseudo-random data (generated, never on
// disk) through POST /v1/assets into each blob store, the file store and
// an S3 bucket (a versitygw it starts, serving a temporary folder), and
// prints the gateway process's peak RSS and Go heap side by side.
//
// The gateway runs in a child process (this program, re-executed with
// -serve), so that its memory is its own: an embedded etcd and Kafka
// broker, no workers, an upload limit raised above SIZE. Random bytes are
// no media the engine accepts: the upload is stored whole, read back and
// refused by identification (422 ASSET_UNSUPPORTED, or 413 over the
// engine's media size limit), which is the path of every upload up to its
// last step.
//
//	go run ./cmd/blobbench                # 2 GB into each store
//	go run ./cmd/blobbench -size 1GB -stores s3
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/blob/s3test"
	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
)

// maxUpload is the gateway's --max-upload-bytes.
var maxUpload int64

func main() {
	serve := flag.String("serve", "", "internal: run the gateway on this blob URL (the child process)")
	addrFile := flag.String("addr-file", "", "internal: where the child writes its address")
	sizeFlag := flag.String("size", "2GB", "bytes to upload (suffixes KB, MB, GB, KiB, MiB, GiB)")
	stores := flag.String("stores", "file,s3", "stores to measure, comma-separated: file, s3")
	dir := flag.String("dir", os.TempDir(), "folder for the file store, versitygw's folder and the gateway's scratch")
	flag.Int64Var(&maxUpload, "max-upload-bytes", 4<<30, "the gateway's upload limit (raised above -size)")
	flag.Parse()
	if *serve != "" {
		if err := runGateway(*serve, *addrFile, *dir); err != nil {
			fmt.Fprintln(os.Stderr, "blobbench gateway:", err)
			os.Exit(1)
		}
		return
	}
	size, err := parseSize(*sizeFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var rows []result
	for _, st := range strings.Split(*stores, ",") {
		r, err := measure(strings.TrimSpace(st), size, *dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "blobbench: %s: %v\n", st, err)
			os.Exit(1)
		}
		rows = append(rows, r)
	}
	fmt.Printf("\nupload of %s (%d bytes) through POST /v1/assets; gateway process memory\n\n", *sizeFlag, size)
	fmt.Printf("%-6s %8s %10s %12s %12s %14s %14s %12s\n", "store", "status", "seconds", "MB/s", "RSS before", "peak RSS", "peak RSS Δ", "peak heap")
	for _, r := range rows {
		fmt.Printf("%-6s %8d %10.1f %12.1f %10.1fMB %12.1fMB %12.1fMB %10.1fMB\n", r.store, r.status, r.seconds,
			float64(size)/1e6/r.seconds, mb(r.rssBefore), mb(r.rssPeak), mb(r.rssPeak-r.rssBefore), mb(r.heapPeak))
	}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

type result struct {
	store                        string
	status                       int
	seconds                      float64
	rssBefore, rssPeak, heapPeak int64
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("-size %q: not a size", s)
			}
			return int64(v * float64(u.mult)), nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("-size %q: not a size", s)
	}
	return v, nil
}

// measure starts a gateway on the store, uploads size bytes, and samples
// the child's memory meanwhile.
func measure(store string, size int64, dir string) (result, error) {
	r := result{store: store}
	work, err := os.MkdirTemp(dir, "blobbench-"+store+"-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(work)
	var url string
	env := os.Environ()
	switch store {
	case "file":
		url = blob.FileURL(filepath.Join(work, "blobs"))
	case "s3":
		stop, endpoint, err := startVersitygw(work)
		if err != nil {
			return r, err
		}
		defer stop()
		url = "s3://" + s3test.Bucket + "?endpoint=" + endpoint
		env = append(env, "AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
	default:
		return r, fmt.Errorf("unknown store %q (file, s3)", store)
	}
	addrFile := filepath.Join(work, "addr")
	cmd := exec.Command(os.Args[0], "-serve", url, "-addr-file", addrFile, "-dir", work, "-max-upload-bytes", strconv.FormatInt(max(maxUpload, size+1), 10))
	cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var addr string
	for deadline := time.Now().Add(2 * time.Minute); addr == ""; {
		if b, err := os.ReadFile(addrFile); err == nil && strings.HasSuffix(string(b), "\n") {
			addr = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			return r, errors.New("the gateway did not start in 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	base := "http://" + addr
	runtime.GC()
	time.Sleep(500 * time.Millisecond)
	before, _ := childMem(base)
	r.rssBefore = rss(cmd.Process.Pid)

	start := time.Now()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/assets", &randomReader{left: size, rng: rand.NewChaCha8([32]byte{1})})
	req.ContentLength = -1 // chunked: the gateway cannot know the size in advance
	req.Header.Set("Content-Type", "video/mp4")
	var sent atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // progress on stderr
		defer wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				m, _ := childMem(base)
				fmt.Fprintf(os.Stderr, "blobbench: %s: %.0fs, RSS %.1f MB, heap peak %.1f MB\n", store, time.Since(start).Seconds(),
					mb(rss(cmd.Process.Pid)), mb(m.HeapPeak))
				_ = sent.Load()
			}
		}
	}()
	resp, err := http.DefaultClient.Do(req)
	close(done)
	wg.Wait()
	if err != nil {
		return r, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.seconds = time.Since(start).Seconds()
	r.status = resp.StatusCode
	// Random bytes are refused once stored and read back: 422 (not media)
	// or, over the engine's media size limit, 413 naming the stored size.
	identified := resp.StatusCode == http.StatusRequestEntityTooLarge && strings.Contains(string(body), fmt.Sprintf("the file is %d bytes", size))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusUnprocessableEntity && !identified {
		return r, fmt.Errorf("upload answered %d: %s", resp.StatusCode, body)
	}
	after, err := childMem(base)
	if err != nil {
		return r, err
	}
	r.rssPeak = max(after.RSSPeak, hwm(cmd.Process.Pid))
	r.heapPeak = after.HeapPeak
	_ = before
	return r, nil
}

// randomReader yields left pseudo-random bytes.
type randomReader struct {
	left int64
	rng  *rand.ChaCha8
}

func (r *randomReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, _ := r.rng.Read(p)
	r.left -= int64(n)
	return n, nil
}

// rss and hwm read a process's resident set and its peak (VmHWM), in bytes.
func rss(pid int) int64 { return procStatus(pid, "VmRSS:") }
func hwm(pid int) int64 { return procStatus(pid, "VmHWM:") }

func procStatus(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// mem is what the child reports of itself.
type mem struct{ HeapPeak, RSSPeak int64 }

func childMem(base string) (mem, error) {
	var m mem
	resp, err := http.Get(base + "/blobbench/mem")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

func startVersitygw(work string) (stop func(), endpoint string, err error) {
	bin, err := s3test.Binary()
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := l.Addr().String()
	l.Close()
	root := filepath.Join(work, "s3")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, "--access", s3test.AccessKey, "--secret", s3test.SecretKey, "--port", addr, "--quiet", "posix", root)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	cli, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(s3test.AccessKey, s3test.SecretKey, ""),
		Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		stop()
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		if err = cli.MakeBucket(ctx, s3test.Bucket, minio.MakeBucketOptions{}); err == nil {
			return stop, "http://" + addr, nil
		}
		if ctx.Err() != nil {
			stop()
			return nil, "", fmt.Errorf("versitygw: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runGateway is the child: a gateway on the blob store blobURL (an s3://
// URL carries its endpoint as ?endpoint=), embedded etcd and Kafka, no
// workers, sampling its own memory.
func runGateway(blobURL, addrFile, dir string) error {
	bc := blob.DefaultConfig(dir)
	if u, q, ok := strings.Cut(blobURL, "?endpoint="); ok {
		bc.URL, bc.S3Endpoint, bc.S3PathStyle = u, q, true
	} else {
		bc.URL = blobURL
	}
	bc.ScratchDir = filepath.Join(dir, "scratch")
	ctx := context.Background()
	store, err := blob.Open(ctx, bc)
	if err != nil {
		return err
	}
	cfg := wiring.DefaultConfig(filepath.Join(dir, "data"))
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		return err
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs, cfg.Etcd.InitialCluster = clients, peers, ""
	cfg.KafkaListen, cfg.SchedulerListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Workers, cfg.Blobs = 0, store
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := wiring.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	gcfg := gateway.DefaultConfig()
	gcfg.Loopback = true
	gcfg.MaxUploadBytes = max(gcfg.MaxUploadBytes, maxUpload) // raised for the bench
	g, err := s.Gateway(wiring.GatewayOptions{Config: gcfg, Log: cfg.Log})
	if err != nil {
		return err
	}
	var heapPeak atomic.Int64
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if h := int64(ms.HeapInuse); h > heapPeak.Load() {
				heapPeak.Store(h)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	mux := http.NewServeMux()
	mux.Handle("/", g.Handler())
	mux.HandleFunc("/blobbench/mem", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(mem{HeapPeak: heapPeak.Load(), RSSPeak: hwm(os.Getpid())})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := os.WriteFile(addrFile, []byte(l.Addr().String()+"\n"), 0o644); err != nil {
		return err
	}
	return http.Serve(l, mux)
}
