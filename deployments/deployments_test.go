package deployments

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// repoRoot is the repository root, relative to this package's folder (the
// working directory of its tests).
const repoRoot = ".."

// A role is a stickerd subcommand as the deployment files run it: what it
// must be wired to, and the flags whose STICKERD_* twins the files may set.
type role struct {
	etcd       bool // lists every etcd member in STICKERD_ETCD_ENDPOINTS
	kafka      bool // has STICKERD_KAFKA_BROKERS
	schedulers bool // lists the scheduler replicas in STICKERD_SCHEDULERS
	blobs      bool // reads or writes the blob store: the S3 bucket of --blob-url
	serves     bool // its HTTP listener (API, signaling) serves HTTPS with --tls-cert
	oneShot    bool // runs to completion: no listener, no wiring
	// flags are the flag names the deployment files rely on. Those of
	// scheduler, worker and monitor are copied from `stickerd CMD -h`;
	// gateway and edge are assumed until their subcommands land, and
	// TestFlags_MatchBinary checks every role the binary has.
	flags []string
}

var roles = map[string]role{
	"gateway": {etcd: true, kafka: true, blobs: true, serves: true,
		flags: append([]string{"http-addr", "data-dir", "etcd-endpoints", "kafka-brokers", "redis-url", "api-keys-file", "url-signing-key"}, append(blobFlags, append(tlsFlags, tracingFlags...)...)...)},
	// The scheduler leader enforces retention, so schedulers have the blob
	// store too (without it nothing expires) and the retention flags.
	"scheduler": {etcd: true, kafka: true, blobs: true,
		flags: append([]string{"advertise", "election-ttl", "etcd-endpoints", "grpc-addr", "heartbeat-interval", "heartbeat-ttl",
			"http-addr", "id", "kafka-brokers", "max-attempts", "target-utilization", "join-token"}, append(retentionFlags, append(blobFlags, append(tlsFlags, tracingFlags...)...)...)...)},
	"worker": {schedulers: true, blobs: true,
		flags: append([]string{"allow-private-urls", "concurrency", "data-dir", "disable-gpu", "drain-timeout", "http-addr", "id", "schedulers",
			"tls-server-name", "join-token"}, append(blobFlags, append(tlsFlags, tracingFlags...)...)...)},
	"edge": {kafka: true, schedulers: true, serves: true, blobs: true,
		flags: append([]string{"http-addr", "advertise", "public-ip", "udp-port-min", "udp-port-max", "schedulers", "kafka-brokers",
			"tls-server-name", "join-token"}, append(blobFlags, append(tlsFlags, tracingFlags...)...)...)},
	"monitor": {kafka: true,
		flags: append([]string{"http-addr", "kafka-brokers"}, tlsFlags...)},
	// certs is the one-shot that writes the certificates (compose).
	"certs": {oneShot: true, flags: []string{"out", "hosts", "services", "chown", "valid-for", "ca-valid-for", "force"}},
}

// tlsFlags are the TLS flags every long-running role has (docs/security.md);
// kafka-tls only where the role talks to Kafka, which the files set with
// the brokers.
var tlsFlags = []string{"tls-cert", "tls-key", "tls-ca", "kafka-tls"}

// tracingFlags send a process's traces to an OpenTelemetry collector
// (Jaeger in compose).
var tracingFlags = []string{"otlp-endpoint", "trace-sample-ratio"}

// globalEnv are STICKERD_* variables read by every subcommand that are not
// flag twins.
var globalEnv = []string{"STICKERD_LOG_LEVEL"}

// blobFlags select the blob store (internal/blob.RegisterFlags).
var blobFlags = []string{"blob-url", "s3-endpoint", "s3-region", "s3-path-style"}

// retentionFlags are the scheduler's retention flags, which the files set
// to their defaults (retention_test.go).
var retentionFlags = []string{"output-ttl", "asset-ttl", "job-ttl"}

// flagOfEnv is the flag an environment variable is the twin of:
// STICKERD_HTTP_ADDR → http-addr (internal/flagenv.Name, reversed).
func flagOfEnv(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "STICKERD_")
	if !ok {
		return "", false
	}
	return strings.ToLower(strings.ReplaceAll(rest, "_", "-")), true
}

// checkEnvNames reports STICKERD_* variables that are no flag of the role.
func checkEnvNames(t *testing.T, where, roleName string, names []string) {
	t.Helper()
	r, ok := roles[roleName]
	if !ok {
		t.Errorf("%s: runs unknown stickerd subcommand %q", where, roleName)
		return
	}
	for _, n := range names {
		if slices.Contains(globalEnv, n) {
			continue
		}
		if f, ok := flagOfEnv(n); ok && !slices.Contains(r.flags, f) {
			t.Errorf("%s: %s is the twin of --%s, which `stickerd %s` does not have (known: %v)", where, n, f, roleName, r.flags)
		}
	}
}

// splitList splits a comma-separated flag value as flagenv.List does.
func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sameSet tells whether a and b hold the same strings, ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// portOf is the port of a host:port listen address.
func portOf(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return ""
	}
	return addr[i+1:]
}

var usageFlag = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)

// TestFlags_MatchBinary builds cmd/stickerd and checks the flags the
// deployment files assume against `stickerd CMD -h` for every role the
// binary has; roles it lacks yet are reported, not failed.
func TestFlags_MatchBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/stickerd")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "stickerd")
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/stickerd")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/stickerd: %v\n%s", err, out)
	}
	for _, name := range sortedKeys(roles) {
		r := roles[name]
		t.Run(name, func(t *testing.T) {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(cctx, bin, name, "-h")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no STICKERD_* from the test's environment
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("stickerd %s -h: %v", name, err)
			}
			if strings.Contains(string(out), "unknown command") {
				t.Logf("stickerd has no %q subcommand yet; the files assume --%s", name, strings.Join(r.flags, ", --"))
				return
			}
			var have []string
			for _, m := range usageFlag.FindAllStringSubmatch(string(out), -1) {
				have = append(have, m[1])
			}
			if len(have) == 0 {
				t.Fatalf("stickerd %s -h listed no flags:\n%s", name, out)
			}
			for _, f := range r.flags {
				if !slices.Contains(have, f) {
					t.Errorf("the deployment files rely on `stickerd %s --%s`, which it does not have (it has %v)", name, f, have)
				}
			}
		})
	}
}
