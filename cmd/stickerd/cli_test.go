package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// stickerdBin builds cmd/stickerd once for the tests that exec it.
func stickerdBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stickerd-cli-test")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "stickerd")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// cleanEnv is the test's environment without STICKERD_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STICKERD_") {
			env = append(env, kv)
		}
	}
	return env
}

// runBin runs stickerd with args and returns its exit status, stdout and stderr.
func runBin(t *testing.T, timeout time.Duration, args ...string) (int, string, string) {
	t.Helper()
	bin := stickerdBin(t) // built once, before the run's own time starts
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatalf("stickerd %s: %v", strings.Join(args, " "), err)
	}
	return 0, stdout.String(), stderr.String()
}

// Every way of asking for help prints it on stdout and exits 0, with
// nothing on stderr (no "flag: help requested" error line).
func TestHelp_EveryCommand(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}} {
		code, stdout, stderr := runBin(t, 2*time.Minute, args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "usage: stickerd COMMAND") {
			t.Errorf("stickerd %s: exit %d, stdout:\n%s\nstderr:\n%s", args[0], code, stdout, stderr)
		}
		for _, c := range commands {
			if !strings.Contains(stdout, "  "+c.name+" ") {
				t.Errorf("stickerd %s does not list %s:\n%s", args[0], c.name, stdout)
			}
		}
	}
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}, {c.name, "-help"}, {"help", c.name}} {
			code, stdout, stderr := runBin(t, 2*time.Minute, args...)
			cmdline := "stickerd " + strings.Join(args, " ")
			if code != 0 {
				t.Errorf("%s: exit %d, stderr:\n%s", cmdline, code, stderr)
			}
			if stderr != "" {
				t.Errorf("%s wrote to stderr:\n%s", cmdline, stderr)
			}
			for _, want := range []string{"usage: stickerd " + c.name + " [flags]", c.summary, "  -http-addr string", "STICKERD_HTTP_ADDR"} {
				if c.name == "certs" && want == "  -http-addr string" {
					continue // writes files and exits: no listener
				}
				if !strings.Contains(stdout, want) {
					t.Errorf("%s: help lacks %q:\n%s", cmdline, want, stdout)
				}
			}
		}
	}
}

// A bad flag or argument is a usage error: exit 2 and a plain message, not
// a failure log line.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: stickerd COMMAND"},
		{[]string{"paint"}, `unknown command "paint"`},
		{[]string{"gateway", "--no-such-flag"}, "stickerd gateway: flag provided but not defined: -no-such-flag"},
		{[]string{"worker", "extra", "--concurrency", "2"}, `stickerd worker: unexpected argument "extra"`},
		{[]string{"dev", "--rate-limit", "-1"}, "stickerd dev: --rate-limit -1: want a positive number"},
		{[]string{"edge", "--udp-port-min", "70000", "--udp-port-max", "70001"}, "--udp-port-min 70000 is not a port number"},
		{[]string{"gateway", "--trace-sample-ratio", "2"}, "sample ratio 2: want 0 to 1"},
		{[]string{"worker", "--otlp-endpoint", "collector"}, `OTLP endpoint "collector": want HOST:PORT`},
	}
	for _, tt := range tests {
		code, _, stderr := runBin(t, 2*time.Minute, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, `"level"`) {
			t.Errorf("stickerd %s: exit %d, stderr:\n%s\nwant exit 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
}

// devArgs are the flags of a `stickerd dev` on spare loopback ports.
func devArgs(t *testing.T, httpAddr, etcdClient, etcdPeer, kafka string) []string {
	return []string{"dev", "--http-addr", httpAddr, "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--kafka-listen", kafka, "--etcd-listen-client", etcdClient, "--etcd-listen-peer", etcdPeer,
		"--grpc-addr", "127.0.0.1:0"}
}

// `stickerd dev` logs only JSON objects on stderr, each key once, every
// line with service=dev, etcd's lines without stack traces; its banner goes
// to stdout. --rate-limit 0 starts (it used to be refused) and turns the
// limit off.
func TestDev_LogsAreJSONLinesWithUniqueKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("runs stickerd dev")
	}
	bin := stickerdBin(t)
	httpAddr := freeAddr(t)
	args := append(devArgs(t, httpAddr, freeAddr(t), freeAddr(t), "127.0.0.1:0"), "--rate-limit", "0")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), "STICKERD_LOG_LEVEL=debug")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	base := "http://" + httpAddr
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("stickerd dev exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("stickerd dev not ready in 90s:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Past the default burst (20) at once: with --rate-limit 0 none is 429.
	for i := range 30 {
		resp, err := http.Post(base+"/v1/renders", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("request %d was rate limited although --rate-limit is 0", i)
		}
	}
	time.Sleep(3 * time.Second)
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("stickerd dev ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("stickerd dev did not stop in 30s of SIGINT")
	}

	if !strings.HasPrefix(stdout.String(), "stickerd dev: http://"+httpAddr) {
		t.Errorf("stdout is not the banner:\n%s", stdout.String())
	}
	lines, etcdLines, requests := 0, 0, 0
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		lines++
		if err := uniqueKeysJSON(line); err != nil {
			t.Errorf("stderr line %d: %v: %s", lines, err, line)
			continue
		}
		var m map[string]any
		json.Unmarshal(line, &m)
		if m["service"] != "dev" {
			t.Errorf("stderr line %d has service %v: %s", lines, m["service"], line)
		}
		if m["component"] == "etcd" {
			etcdLines++
			for _, k := range []string{"stacktrace", "caller", "errorVerbose", "ts"} {
				if _, ok := m[k]; ok {
					t.Errorf("etcd line %d has %q: %s", lines, k, line)
				}
			}
		}
		if m["msg"] == "request" {
			requests++
		}
	}
	if requests < 30 {
		t.Errorf("%d request lines for 30 requests", requests)
	}
	t.Logf("%d JSON lines on stderr, %d from etcd, %d requests", lines, etcdLines, requests)
}

// uniqueKeysJSON fails unless line is one JSON object in which no object
// has a key twice.
func uniqueKeysJSON(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not a JSON object (%v)", err)
	}
	if err := objectKeysUnique(dec); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more than one JSON value")
	}
	return nil
}

// objectKeysUnique reads the rest of an object whose '{' was read.
func objectKeysUnique(dec *json.Decoder) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		if seen[key] {
			return fmt.Errorf("key %q twice", key)
		}
		seen[key] = true
		if err := valueKeysUnique(dec); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func valueKeysUnique(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return objectKeysUnique(dec)
	case json.Delim('['):
		for dec.More() {
			if err := valueKeysUnique(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
	}
	return err
}

// A port another process holds stops `stickerd dev` with one error line
// that names the flag to change: no etcd stack trace, nothing else.
func TestDev_PortInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("runs stickerd dev")
	}
	for _, flagName := range []string{"etcd-listen-peer", "etcd-listen-client", "http-addr", "kafka-listen"} {
		t.Run(flagName, func(t *testing.T) {
			addrs := map[string]string{"http-addr": freeAddr(t), "etcd-listen-client": freeAddr(t), "etcd-listen-peer": freeAddr(t), "kafka-listen": freeAddr(t)}
			l, err := net.Listen("tcp", addrs[flagName])
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			args := devArgs(t, addrs["http-addr"], addrs["etcd-listen-client"], addrs["etcd-listen-peer"], addrs["kafka-listen"])
			code, stdout, stderr := runBin(t, 2*time.Minute, args...)
			_, port, _ := net.SplitHostPort(addrs[flagName])
			want := fmt.Sprintf("port %s is in use: set --%s", port, flagName)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			var m map[string]any
			if code != 1 || len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &m) != nil ||
				m["level"] != "ERROR" || m["err"] != want || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and one ERROR line with err %q", code, stdout, stderr, want)
			}
		})
	}
}

func TestGatewayOpts_RateLimit(t *testing.T) {
	tests := []struct {
		rate      string
		burst     string
		unlimited bool
		usage     bool
	}{
		{"0", "20", true, false},
		{"0", "0", true, false}, // the burst of no limit does not matter
		{"5", "20", false, false},
		{"0.5", "1", false, false},
		{"-1", "20", false, true},
		{"NaN", "20", false, true},
		{"2e6", "20", false, true},
		{"5", "0", false, true},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
		o := gatewayFlags(fs, false)
		if err := fs.Parse([]string{"--rate-limit", tt.rate, "--rate-burst", tt.burst}); err != nil {
			t.Fatal(err)
		}
		rl, unlimited, err := o.rateLimit()
		var usage errUsage
		if unlimited != tt.unlimited || errors.As(err, &usage) != tt.usage || (err == nil) == tt.usage {
			t.Errorf("--rate-limit %s --rate-burst %s: %+v, unlimited %v, err %v", tt.rate, tt.burst, rl, unlimited, err)
		}
		if err == nil && (rl.Rate <= 0 || rl.Burst < 1) {
			t.Errorf("--rate-limit %s: %+v would not validate", tt.rate, rl)
		}
	}
}

func TestLogger_EachKeyOnce(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, slog.LevelDebug).With("service", "dev")
	// A package handed the process logger adds its own service, as the
	// gateway does, and a record repeats it, as the error-event publisher
	// does.
	log.With("service", "gateway", "component", "x").Info("request", "service", "dev", "status", 200, "status", 201)
	log.Info("odd", "msg", "shadow", "level", 3)
	log.WithGroup("g").With("service", "inner").Info("grouped", "service", "inner2")
	log.Info("inline", slog.Group("", slog.String("service", "again"), slog.Int("n", 1)))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`"msg":"request","service":"dev","component":"x","status":200}`,
		`"msg":"odd","service":"dev","attr.msg":"shadow","attr.level":3}`,
		`"msg":"grouped","service":"dev","g":{"service":"inner"}}`,
		`"msg":"inline","service":"dev","n":1}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, l := range lines {
		if err := uniqueKeysJSON([]byte(l)); err != nil {
			t.Errorf("line %d: %v: %s", i, err, l)
		}
		if !strings.HasSuffix(l, want[i]) {
			t.Errorf("line %d = %s\nwant it to end with %s", i, l, want[i])
		}
	}
}

// The deployment files give the edge --advertise as HOST:PORT; gateways
// redirect clients to it, so it must become an absolute URL.
func TestAdvertiseURL(t *testing.T) {
	tests := []struct{ advertise, httpAddr, want string }{
		{"", "127.0.0.1:8090", "http://127.0.0.1:8090"},
		{"", "127.0.0.1:8443", "https://127.0.0.1:8443"},
		{"edge:8443", "0.0.0.0:8443", "https://edge:8443"},
		{"edge:8080", "0.0.0.0:8080", "http://edge:8080"},
		{"10.0.0.7:8088", "0.0.0.0:8088", "http://10.0.0.7:8088"},
		{"https://rtc.example.com/", "0.0.0.0:8088", "https://rtc.example.com"},
		{"ftp://x:1", "", ""},
		{"http://x:1/v1", "", ""},
	}
	for _, tt := range tests {
		scheme := "http"
		if strings.HasSuffix(tt.httpAddr, ":8443") {
			scheme = "https" // the edge serves TLS
		}
		got, err := advertiseURL(tt.advertise, tt.httpAddr, scheme)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("advertiseURL(%q, %q) = %q, %v; want %q", tt.advertise, tt.httpAddr, got, err, tt.want)
		}
	}
}
