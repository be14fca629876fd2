package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeMarkers delimit the commands of README.md that this test runs.
const (
	readmeStart = "<!-- readme-test:start -->"
	readmeEnd   = "<!-- readme-test:end -->"
	readmeURL   = "http://127.0.0.1:8080"
)

// readmeCommands returns the command lines of the README's tested block.
func readmeCommands(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), readmeStart)
	block, _, ok2 := strings.Cut(rest, readmeEnd)
	if !ok || !ok2 {
		t.Fatalf("%s has no %s … %s block", path, readmeStart, readmeEnd)
	}
	var cmds []string
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "```") || strings.HasPrefix(line, "#") {
			continue
		}
		cmds = append(cmds, line)
	}
	if len(cmds) == 0 {
		t.Fatalf("the tested block of %s holds no commands", path)
	}
	return cmds
}

// startDev runs `stickerd dev` in-process on free ports and returns its URL.
func startDev(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	httpAddr, etcdClient, etcdPeer := freeAddr(t), freeAddr(t), freeAddr(t)
	logFile, err := os.Create(filepath.Join(dir, "dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	log := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runDev(ctx, []string{"--http-addr", httpAddr, "--data-dir", filepath.Join(dir, "data"),
			"--kafka-listen", "127.0.0.1:0", "--etcd-listen-client", etcdClient, "--etcd-listen-peer", etcdPeer,
			"--grpc-addr", "127.0.0.1:0"}, log)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("stickerd dev did not stop in 30s")
		}
	})
	url := "http://" + httpAddr
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("stickerd dev stopped at start: %v (log %s)", err, logFile.Name())
		default:
		}
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stickerd dev not ready at %s after 90s (log %s)", url, logFile.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadme_TryIt runs the "Try it" commands of README.md, as written,
// against a real `stickerd dev`.
func TestReadme_TryIt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts stickerd dev and renders video")
	}
	for _, tool := range []string{"bash", "curl", "ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed and CI is set", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(t, filepath.Join(root, "README.md"))
	url := startDev(t)
	out := t.TempDir()
	demo := filepath.Join(out, "demo.mp4")
	outputFlag := regexp.MustCompile(`-o\s+demo\.mp4\b`)
	for i, line := range cmds {
		line = strings.ReplaceAll(line, readmeURL, url)
		line = outputFlag.ReplaceAllString(line, "-o "+demo)
		t.Run(fmt.Sprintf("%d %s", i+1, commandName(line)), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", line)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "STICKERD_SERVER="+url)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", line, err, stdout.String(), stderr.String())
			}
			t.Logf("%s: exit 0 in %s", line, time.Since(start).Round(time.Millisecond))
			checkReadmeOutput(t, line, stdout.Bytes(), demo)
		})
	}
}

// checkReadmeOutput checks what each kind of README command should leave.
func checkReadmeOutput(t *testing.T, line string, stdout []byte, demo string) {
	t.Helper()
	switch {
	case strings.HasPrefix(line, "curl ") && strings.Contains(line, "/v1/renders"):
		var job struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(stdout, &job); err != nil || !strings.HasPrefix(job.ID, "job_") || job.Status != "queued" {
			t.Fatalf("curl printed %s (%v), want a queued job", stdout, err)
		}
	case strings.Contains(line, "stickerctl render"):
		probe, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
			"stream=codec_name,width,height:format=duration", "-of", "default=nw=1", demo).Output()
		if err != nil {
			t.Fatalf("%s is not a valid video: %v", demo, err)
		}
		got := string(probe)
		if !strings.Contains(got, "codec_name=h264") || !strings.Contains(got, "width=1280") || !strings.Contains(got, "height=720") {
			t.Fatalf("ffprobe %s:\n%s", demo, got)
		}
		d, _ := strconv.ParseFloat(strings.TrimSpace(after(got, "duration=")), 64)
		if d < 3.5 || d > 4.5 {
			t.Fatalf("%s lasts %gs, want the spec's 4s", demo, d)
		}
	case strings.Contains(line, "stickerctl stickers"):
		if !regexp.MustCompile(`(?m)^heart\s`).Match(stdout) {
			t.Fatalf("the catalogue does not list heart:\n%s", stdout)
		}
	default:
		t.Fatalf("no check for %q: teach this test what it should leave", line)
	}
}

// commandName names a command line by its program (and subcommand).
func commandName(line string) string {
	f := strings.Fields(line)
	for i, w := range f {
		if strings.HasSuffix(w, "stickerctl") && i+1 < len(f) {
			return "stickerctl " + f[i+1]
		}
	}
	return f[0]
}

// after is what follows the first prefix in s, up to the end of its line.
func after(s, prefix string) string {
	_, rest, _ := strings.Cut(s, prefix)
	line, _, _ := strings.Cut(rest, "\n")
	return line
}
