package sharedstate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedis is the redis-server shared by the suite, started by TestMain;
// nil when redis-server is not installed and CI is unset.
var (
	testRedis     *redisServer
	noRedisReason string
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the outage test causes many.
	redis.SetLogger(quietLogger{})
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sharedstate tests:", err)
		code = 1
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			return 1, errors.New("redis-server is not installed and CI is set: run scripts/deps.sh")
		}
		noRedisReason = "redis-server is not installed (apt-get install redis-server); the Redis backend is not tested"
		return m.Run(), nil
	}
	srv, err := startRedisServer(0)
	if err != nil {
		return 1, err
	}
	defer srv.Stop()
	testRedis = srv
	return m.Run(), nil
}

// needRedis skips (or, with CI set, never gets here: TestMain fails first)
// when no redis-server is available.
func needRedis(t testing.TB) *redisServer {
	t.Helper()
	if testRedis == nil {
		t.Skip(noRedisReason)
	}
	return testRedis
}

// redisServer is a throwaway redis-server on a loopback port, with no
// persistence.
type redisServer struct {
	Port   int
	cmd    *exec.Cmd
	exited chan struct{}
	dir    string
}

// startRedisServer starts redis-server on port (0: a free one) and waits
// until it answers.
func startRedisServer(port int) (*redisServer, error) {
	dir, err := os.MkdirTemp("", "sharedstate-redis-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for try := 0; try < 5; try++ {
		p := port
		if p == 0 {
			if p, err = freePort(); err != nil {
				return nil, err
			}
		}
		s := &redisServer{Port: p, dir: dir}
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
		if port != 0 {
			// A fixed port may still be held for a moment by the server we
			// just killed; try it again.
			time.Sleep(100 * time.Millisecond)
		}
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("starting redis-server: %w", lastErr)
}

func (s *redisServer) start() error {
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--loglevel", "warning")
	cmd.SysProcAttr = killWithParent()
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on port %d exited at start", s.Port)
		default:
		}
		if s.ping() == nil {
			s.cmd, s.exited = cmd, exited
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-exited
	return fmt.Errorf("redis-server on port %d did not answer in 5s", s.Port)
}

func (s *redisServer) ping() error {
	c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "+PONG\r\n" {
		return fmt.Errorf("redis answered %q", buf)
	}
	return nil
}

// Addr is the server's host:port.
func (s *redisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL is the server's redis:// URL.
func (s *redisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Kill stops the server abruptly (SIGKILL), as a crash would.
func (s *redisServer) Kill() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}

// Restart starts the server again on the same port.
func (s *redisServer) Restart() error {
	var err error
	for try := 0; try < 5; try++ {
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Stop kills the server and removes its directory.
func (s *redisServer) Stop() {
	s.Kill()
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
