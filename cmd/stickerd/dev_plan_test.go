package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDev_SmartAndBurstRendering runs `stickerd dev --workers 2` and
// renders an uploaded phone-like source (H.264 + AAC, 2 s GOPs, 24 s)
// twice: with one sticker for 2 s, which is rendered smart (only the GOPs
// it touches encoded, the rest copied), and with a sticker throughout,
// which is split into parts the two workers render at once and one
// stitches. Both outputs hold every frame of the source and its duration;
// the jobs say how they were rendered, and `stickerctl status` prints it.
func TestDev_SmartAndBurstRendering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs stickerd dev and ffmpeg")
	}
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	bin := stickerdBin(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "phone.mp4")
	gen := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=24",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=24", "-c:v", "libx264", "-preset", "veryfast", "-g", "60",
		"-keyint_min", "60", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart", src)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("making the source: %v\n%s", err, out)
	}
	httpAddr := freeAddr(t)
	args := append(devArgs(t, httpAddr, freeAddr(t), freeAddr(t), "127.0.0.1:0"),
		"--workers", "2", "--concurrency", "1", "--split-min-seconds", "6", "--ffmpeg-threads", "1")
	base, logPath := startDevProc(t, bin, dir, args)
	httpc := &http.Client{Timeout: 60 * time.Second}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	status, asset := uploadAsset(t, httpc, base, data, "video/mp4")
	if status != http.StatusCreated {
		t.Fatalf("upload: %d", status)
	}
	render := func(stickers string) string {
		t.Helper()
		id, status, err := postRender(httpc, base, []byte(fmt.Sprintf(`{"source":{"asset_id":%q},"stickers":[%s]}`, asset, stickers)))
		if err != nil || status != http.StatusAccepted {
			t.Fatalf("submit: %d, %v", status, err)
		}
		return id
	}
	smart := render(`{"type":"image","builtin":"heart","start":8.5,"end":10.5}`)
	burst := render(`{"type":"text","text":"all the way","y":0.8}`)

	type plan struct {
		Mode           string  `json:"mode"`
		Segments       int     `json:"segments"`
		EncodedSeconds float64 `json:"encoded_seconds"`
		CopiedSeconds  float64 `json:"copied_seconds"`
		Workers        int     `json:"workers"`
		Reason         string  `json:"reason"`
	}
	type job struct {
		Status string `json:"status"`
		Error  *struct {
			Code, Message string
		} `json:"error"`
		Output *struct {
			Duration float64 `json:"duration"`
		} `json:"output"`
		Plan *plan `json:"plan"`
	}
	wait := func(id string) job {
		t.Helper()
		for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
			resp, err := httpc.Get(base + "/v1/renders/" + id)
			if err != nil {
				t.Fatal(err)
			}
			var j job
			err = json.NewDecoder(resp.Body).Decode(&j)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			switch j.Status {
			case "succeeded":
				return j
			case "failed", "canceled":
				t.Fatalf("job %s %s: %+v (log %s)", id, j.Status, j.Error, logPath)
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s still %s after 4 minutes (log %s)", id, j.Status, logPath)
			}
		}
	}
	frames := func(id string) (int, float64) {
		t.Helper()
		resp, err := httpc.Get(base + "/v1/renders/" + id + "/output")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := filepath.Join(dir, id+".mp4")
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return probeFrames(t, out)
	}
	srcFrames, srcDur := probeFrames(t, src)

	s := wait(smart)
	if s.Plan == nil || s.Plan.Mode != "smart" || s.Plan.CopiedSeconds < 16 || s.Plan.EncodedSeconds > 8 {
		t.Fatalf("the 2 s sticker's plan: %+v, want smart with most of the 24 s copied", s.Plan)
	}
	b := wait(burst)
	if b.Plan == nil || b.Plan.Mode != "split" || b.Plan.Segments != 2 || b.Plan.Workers != 2 {
		t.Fatalf("the sticker throughout's plan: %+v, want split in 2 parts on 2 workers", b.Plan)
	}
	for _, id := range []string{smart, burst} {
		n, d := frames(id)
		if n != srcFrames || d < srcDur-0.05 || d > srcDur+0.05 {
			t.Errorf("job %s: %d frames over %.3f s, want the source's %d over %.3f s", id, n, d, srcFrames, srcDur)
		}
	}

	ctl := filepath.Join(dir, "stickerctl")
	if out, err := exec.Command("go", "build", "-o", ctl, "../stickerctl").CombinedOutput(); err != nil {
		t.Fatalf("building stickerctl: %v\n%s", err, out)
	}
	out, err := exec.Command(ctl, "status", "--server", base, burst).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "plan split: 2 segment(s) on 2 worker(s)") {
		t.Fatalf("stickerctl status: %v\n%s", err, out)
	}
}

// probeFrames is a video's frame count (packets, read) and its duration.
func probeFrames(t *testing.T, path string) (int, float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=nb_read_packets:format=duration", "-of", "default=nw=1:nk=1", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 {
		t.Fatalf("ffprobe %s: %q", path, out)
	}
	n, _ := strconv.Atoi(fields[0])
	d, _ := strconv.ParseFloat(fields[1], 64)
	return n, d
}

// startDevProc starts `stickerd dev` as a process with args (and env added to a clean
// environment), logging to dir/dev.log, and waits until it is ready; the
// test's end stops it (SIGINT, then SIGKILL after 30 s). It returns the
// base URL and the log's path.
func startDevProc(t *testing.T, bin, dir string, args []string, env ...string) (string, string) {
	t.Helper()
	var httpAddr string
	for i, a := range args {
		if a == "--http-addr" && i+1 < len(args) {
			httpAddr = args[i+1]
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(cleanEnv(), "STICKERD_LOG_LEVEL=warn"), env...)
	logPath := filepath.Join(dir, "dev.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Error("stickerd dev did not stop in 30s of SIGINT")
		}
	})
	base := "http://" + httpAddr
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, logPath
			}
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("stickerd dev exited: %v\n%s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("stickerd dev not ready in 90s (log %s)", logPath)
		}
	}
}
