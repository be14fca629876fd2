// Package s3test starts a real S3 server for tests: versitygw (Apache-2.0)
// serving a temporary folder over S3 with SigV4, on a free loopback port,
// with one bucket. scripts/deps.sh installs versitygw; a test that needs
// it skips when it is missing, unless CI is set, where it fails.
package s3test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/stickerd/stickerd/internal/blob"
)

// Version is the versitygw release scripts/deps.sh installs.
const Version = "v1.8.0"

// The credentials of every test server.
const (
	AccessKey = "stickerdtest"
	SecretKey = "stickerdtestsecret"
	Bucket    = "stickerd"
)

// Binary finds versitygw: on PATH, in GOBIN, or in GOPATH/bin (where
// scripts/deps.sh installs it).
func Binary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		for _, l := range splitLines(string(out)) {
			if l == "" {
				continue
			}
			dirs = append(dirs, l, filepath.Join(l, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("versitygw is not installed: run scripts/deps.sh (go install github.com/versity/versitygw/cmd/versitygw@" + Version + ")")
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Need returns versitygw's path, or skips t when it is missing; with CI
// set, a missing versitygw fails t instead.
func Need(t testing.TB) string {
	t.Helper()
	p, err := Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set: S3 tests must run)", err)
		}
		t.Skipf("%v; the S3 store is not tested", err)
	}
	return p
}

// Server is a running versitygw.
type Server struct {
	// Endpoint is http://127.0.0.1:PORT.
	Endpoint string
	// Dir is the folder it serves; the bucket is Dir/Bucket.
	Dir string

	bin  string
	addr string
	t    testing.TB
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts versitygw on a free loopback port with a temporary folder,
// creates Bucket, and stops it when t ends. It skips or fails t as Need.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{bin: Need(t), Dir: t.TempDir(), t: t}
	var err error
	for try := 0; try < 5; try++ {
		s.addr = freeAddr(t)
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Endpoint = "http://" + s.addr
	t.Cleanup(s.Stop)
	cli := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ok, err := cli.BucketExists(ctx, Bucket); err != nil || !ok {
		if err := cli.MakeBucket(ctx, Bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("s3test: creating bucket %s: %v", Bucket, err)
		}
	}
	return s
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, "--access", AccessKey, "--secret", SecretKey, "--port", s.addr, "--quiet", "posix", s.Dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	logf, err := os.Create(filepath.Join(s.t.TempDir(), "versitygw.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("s3test: starting versitygw: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			b, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("s3test: versitygw exited at start: %s", b)
		default:
		}
		if resp, err := http.Get("http://" + s.addr + "/"); err == nil {
			resp.Body.Close()
			s.cmd, s.done = cmd, done
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-done
	return errors.New("s3test: versitygw did not answer in 15s")
}

// Stop kills versitygw (as a crash would) and waits for it to exit.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts versitygw again on the same port and folder.
func (s *Server) Restart() {
	s.t.Helper()
	var err error
	for try := 0; try < 50; try++ { // the port may linger a moment
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatal(err)
}

// Port is the server's port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Config is a blob.Config for the bucket (under prefix, when not empty),
// with the server's credentials.
func (s *Server) Config(prefix string) blob.Config {
	c := blob.DefaultConfig(s.Dir)
	c.URL = "s3://" + Bucket
	if prefix != "" {
		c.URL += "/" + prefix
	}
	c.S3Endpoint, c.S3PathStyle, c.S3Region = s.Endpoint, true, "us-east-1"
	c.S3AccessKey, c.S3SecretKey = AccessKey, SecretKey
	c.ScratchDir = s.t.TempDir()
	c.MaxRetries = 1
	return c
}

// Store opens the bucket as a blob store.
func (s *Server) Store(prefix string) blob.Store {
	st, err := blob.Open(context.Background(), s.Config(prefix))
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// Env is the environment that points stickerd at the server's bucket
// through the standard AWS variables.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey, "AWS_REGION=us-east-1"}
}

// Client is a minio client of the server, for looking at the bucket.
func (s *Server) Client(t testing.TB) *minio.Client {
	cli, err := minio.New(s.addr, &minio.Options{Creds: credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// Keys lists the bucket's objects (complete ones only: a multipart
// upload in progress or aborted is not an object).
func (s *Server) Keys(t testing.TB) []string {
	t.Helper()
	var keys []string
	for o := range s.Client(t).ListObjects(context.Background(), Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}
