// Command retentionbench measures the storage of a steady load under
// retention (issue 14): the in-process stack (embedded etcd and Kafka, one
// scheduler, one worker, the gateway's handler) with a renderer that writes
// an output of realistic size, one upload and one render per second, short
// TTLs, and a table every minute of what is stored: objects and bytes by
// kind (walking the blob folder), job records in etcd, and etcd's database
// size. At the end it says whether storage plateaued.
//
//	go run ./cmd/retentionbench                    # 10 minutes, TTLs 1m/1m/2m
//	go run ./cmd/retentionbench -duration 3m -report 30s
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/services/gateway"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long to submit")
	rate := flag.Float64("rate", 1, "uploads and renders per second")
	report := flag.Duration("report", time.Minute, "interval between table rows")
	outputBytes := flag.Int("output-bytes", 200_000, "size of each output file")
	outputTTL := flag.Duration("output-ttl", time.Minute, "--output-ttl")
	assetTTL := flag.Duration("asset-ttl", time.Minute, "--asset-ttl")
	jobTTL := flag.Duration("job-ttl", 2*time.Minute, "--job-ttl")
	sweep := flag.Duration("expiry-interval", 10*time.Second, "how often the leader sweeps")
	compaction := flag.Duration("etcd-compaction", time.Minute, "etcd's periodic compaction retention (production: 1h)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b := bench{duration: *duration, rate: *rate, report: *report, size: *outputBytes,
		outputTTL: *outputTTL, assetTTL: *assetTTL, jobTTL: *jobTTL, sweep: *sweep, compaction: *compaction}
	if err := b.run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "retentionbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	duration, report, outputTTL, assetTTL, jobTTL, sweep, compaction time.Duration
	rate                                                             float64
	size                                                             int
}

// sizedRenderer renders nothing: it writes size random bytes as the output.
type sizedRenderer struct{ size int }

func (r sizedRenderer) Render(ctx context.Context, job render.Job) (*render.Result, error) {
	data := make([]byte, r.size)
	rand.Read(data)
	if err := os.WriteFile(job.Output, data, 0o644); err != nil {
		return nil, err
	}
	if job.Progress != nil {
		job.Progress(1)
	}
	return &render.Result{Path: job.Output, Format: job.Spec.Output.Format, Width: 64, Height: 64, Duration: 1,
		Bytes: int64(r.size), Encoder: render.EncoderChoice{Name: "sized-noop"}}, nil
}

func (sizedRenderer) Capabilities() render.Capabilities {
	return render.Capabilities{FFmpegVersion: "none", GPU: render.GPUNone}
}

type row struct {
	at                    time.Duration
	assets, outputs       int
	assetBytes, outBytes  int64
	jobRecords            int64
	dbSize, dbInUse       int64
	submitted, failed     int64
	expiredOut, expiredAs int
}

func (b bench) run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "retentionbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := wiring.DefaultConfig(dir)
	clients, peers, err := etcd.FreeLocalURLs(1)
	if err != nil {
		return err
	}
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs = clients, peers
	cfg.Etcd.CompactionRetention = b.compaction
	cfg.KafkaListen, cfg.SchedulerListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Workers, cfg.Worker.Concurrency = 1, 4
	cfg.Renderer = sizedRenderer{size: b.size}
	cfg.Scheduler.OutputTTL, cfg.Scheduler.AssetTTL, cfg.Scheduler.JobTTL = b.outputTTL, b.assetTTL, b.jobTTL
	cfg.Scheduler.ExpiryInterval = b.sweep
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := wiring.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	for s.Leader() == nil || len(s.Leader().Scheduler.Workers()) < 1 {
		time.Sleep(50 * time.Millisecond)
	}
	gcfg := gateway.DefaultConfig()
	gcfg.Loopback = true // keyless, as stickerd dev on loopback
	gw, err := s.Gateway(wiring.GatewayOptions{Config: gcfg, Context: ctx, Log: cfg.Log})
	if err != nil {
		return err
	}
	h := gw.Handler()
	blobDir := cfg.BlobDir
	if blobDir == "" {
		blobDir = filepath.Join(dir, "blobs")
	}

	fmt.Printf("retention: %v at %.3g uploads+renders/s, outputs of %d bytes; --output-ttl %s --asset-ttl %s --job-ttl %s, sweep every %s; etcd compaction %s\n\n",
		b.duration, b.rate, b.size, b.outputTTL, b.assetTTL, b.jobTTL, b.sweep, b.compaction)
	fmt.Println("| t | assets | asset bytes | outputs | output bytes | job records | etcd db size | etcd db in use | submitted | failed |")
	fmt.Println("|--:|-------:|------------:|--------:|-------------:|------------:|-------------:|---------------:|----------:|-------:|")

	var submitted, failed atomic.Int64
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, b.duration)
	defer cancel()
	go func() {
		t := time.NewTicker(time.Duration(float64(time.Second) / b.rate))
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			go func() {
				if err := submit(h); err != nil {
					if failed.Add(1) <= 3 {
						fmt.Fprintln(os.Stderr, "submit:", err)
					}
					return
				}
				submitted.Add(1)
			}()
		}
	}()
	var rows []row
	t := time.NewTicker(b.report)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-lctx.Done():
			done = true
		case <-t.C:
		}
		r, err := measure(ctx, s.Client, blobDir)
		if err != nil {
			return err
		}
		r.at, r.submitted, r.failed = time.Since(start).Round(time.Second), submitted.Load(), failed.Load()
		if n := len(rows); n > 0 && rows[n-1].at == r.at {
			continue // the end fell on a row just printed
		}
		rows = append(rows, r)
		fmt.Printf("| %s | %d | %s | %d | %s | %d | %s | %s | %d | %d |\n", r.at, r.assets, mib(r.assetBytes), r.outputs,
			mib(r.outBytes), r.jobRecords, mib(r.dbSize), mib(r.dbInUse), r.submitted, r.failed)
	}
	fmt.Println()
	fmt.Println(verdict(rows, b))
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// verdict compares the last rows with the bound the TTLs imply: at rate r
// a store keeps about r·TTL objects (plus up to one sweep interval).
func verdict(rows []row, b bench) string {
	if len(rows) < 3 {
		return "too short to judge a plateau (need 3 rows)"
	}
	last := rows[len(rows)-1]
	prev := rows[len(rows)-2]
	prev2 := rows[len(rows)-3]
	bound := func(ttl time.Duration) int {
		return int(b.rate * (ttl + 2*b.sweep + 5*time.Second).Seconds())
	}
	var out []string
	ok := true
	check := func(kind string, n, limit int) {
		s := fmt.Sprintf("%s %d (bound %d)", kind, n, limit)
		if n > limit {
			s += " OVER"
			ok = false
		}
		out = append(out, s)
	}
	check("assets", last.assets, bound(b.assetTTL))
	check("outputs", last.outputs, bound(b.outputTTL))
	check("job records", int(last.jobRecords), bound(b.jobTTL))
	grow := func(a, c int64) float64 {
		if a == 0 {
			return 0
		}
		return float64(c-a) / float64(a)
	}
	stored := func(r row) int64 { return r.assetBytes + r.outBytes }
	g := grow(prev2.dbInUse, last.dbInUse)
	out = append(out, fmt.Sprintf("blob bytes over the last two rows %+.1f%%, %+.1f%%; etcd db in use %+.1f%% (db file %s → %s)",
		100*grow(prev2.assetBytes+prev2.outBytes, stored(prev)), 100*grow(stored(prev), stored(last)), 100*g, mib(prev2.dbSize), mib(last.dbSize)))
	if ok {
		return "PLATEAUED: " + strings.Join(out, "; ")
	}
	return "NOT BOUNDED: " + strings.Join(out, "; ")
}

func measure(ctx context.Context, cli *clientv3.Client, blobDir string) (row, error) {
	var r row
	err := filepath.WalkDir(blobDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(blobDir, p)
		switch {
		case strings.HasPrefix(rel, "assets"+string(filepath.Separator)):
			r.assets++
			r.assetBytes += info.Size()
		case strings.HasPrefix(rel, "outputs"+string(filepath.Separator)):
			r.outputs++
			r.outBytes += info.Size()
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	resp, err := cli.Get(ctx, jobstore.DefaultPrefix+"/jobs/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return r, err
	}
	r.jobRecords = resp.Count
	st, err := cli.Status(ctx, cli.Endpoints()[0])
	if err != nil {
		return r, err
	}
	r.dbSize, r.dbInUse = st.DbSize, st.DbSizeInUse
	return r, nil
}

// uniquePNG is a small PNG with random pixels, so that no two uploads are
// the same file (uploads of identical bytes may be de-duplicated).
func uniquePNG() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	rand.Read(img.Pix)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xFF
	}
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// submit uploads a sticker and renders with it, through the gateway's
// handler, as a client would.
func submit(h http.Handler) error {
	rec := do(h, "POST", "/v1/assets", "image/png", uniquePNG())
	if rec.Code != http.StatusCreated && rec.Code != http.StatusOK {
		return fmt.Errorf("upload: %d %s", rec.Code, rec.Body)
	}
	var a struct{ ID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		return err
	}
	sp := fmt.Sprintf(`{"source":{"color":"#000000","width":64,"height":64,"duration":1},"stickers":[{"type":"image","asset_id":%q}]}`, a.ID)
	rec = do(h, "POST", "/v1/renders", "application/json", []byte(sp))
	if rec.Code != http.StatusAccepted {
		return fmt.Errorf("render: %d %s", rec.Code, rec.Body)
	}
	return nil
}

func do(h http.Handler, method, path, ct string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://localhost"+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.RemoteAddr = "127.0.0.1:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
