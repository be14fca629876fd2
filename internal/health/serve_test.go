package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testServerConfig has timeouts short enough for tests: a client that
// breaks them is cut within a second.
func testServerConfig() ServerConfig {
	return ServerConfig{
		ReadHeaderTimeout: 300 * time.Millisecond,
		IdleTimeout:       300 * time.Millisecond,
		BodyWindow:        300 * time.Millisecond,
		MinBodyRate:       100 << 10,
		WriteTimeout:      300 * time.Millisecond,
		ShutdownTimeout:   time.Second,
	}
}

// startServer serves h with cfg on a loopback port until the test ends.
func startServer(t *testing.T, cfg ServerConfig, h http.Handler) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, lis, h, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return lis.Addr().String()
}

// countBody answers with the number of body bytes it read, or 400 with
// the read error.
func countBody(errs chan<- error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if errs != nil {
			errs <- err
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	}
}

// waitClosed reads from conn until the server closes it, failing the
// test when that takes longer than within.
func waitClosed(t *testing.T, conn net.Conn, within time.Duration) {
	t.Helper()
	start := time.Now()
	conn.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection is still open after %s", within)
	}
}

func TestServe_DrippedBodyIsCut(t *testing.T) {
	errs := make(chan error, 1)
	addr := startServer(t, testServerConfig(), countBody(errs))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() { // one byte every 50ms, far under MinBodyRate
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	waitClosed(t, conn, 3*time.Second)
	select {
	case err := <-errs:
		if !errors.Is(err, ErrSlowBody) {
			t.Fatalf("the handler read %v, want ErrSlowBody", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the handler is still reading the body")
	}
}

func TestServe_IdleKeepAliveIsClosed(t *testing.T) {
	addr := startServer(t, testServerConfig(), countBody(nil))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("response %v, %v: want 200 kept alive", resp, err)
	}
	resp.Body.Close()
	waitClosed(t, conn, 3*time.Second)
}

// A client that stops reading the answer is cut; the handler's write
// fails.
func TestServe_StalledReaderIsCut(t *testing.T) {
	errs := make(chan error, 1)
	addr := startServer(t, testServerConfig(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for i := 0; i < 4096; i++ { // 256 MiB, more than any socket buffer
			if _, err := w.Write(buf); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-errs:
		if err == nil {
			t.Fatal("the handler wrote 256 MiB to a client that reads nothing")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler is still writing to a client that reads nothing")
	}
}

// throttled yields size bytes in chunks of chunk, one every every.
type throttled struct {
	left, chunk int
	every       time.Duration
}

func (r *throttled) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.every) // the pace of a client's upload, not a wait for an event
	n := min(len(p), r.chunk, r.left)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.left -= n
	return n, nil
}

func TestServe_UploadsAtAReasonableRateWork(t *testing.T) {
	addr := startServer(t, testServerConfig(), countBody(nil))
	tests := []struct {
		name string
		body func() io.Reader
		size int
	}{
		// 1 MiB/s for 1.5 s, ten times MinBodyRate and five BodyWindows long.
		{"steady", func() io.Reader { return &throttled{left: 1536 << 10, chunk: 32 << 10, every: 30 * time.Millisecond} }, 1536 << 10},
		{"large", func() io.Reader { return io.LimitReader(zeros{}, 256<<20) }, 256 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post("http://"+addr+"/upload", "application/octet-stream", tt.body())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(b) != fmt.Sprint(tt.size) {
				t.Fatalf("%d %s, want 200 %d", resp.StatusCode, b, tt.size)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// An event stream lasts longer than every timeout, with pauses between
// events longer than WriteTimeout, as long as the client reads it.
func TestServe_LongEventStreamWorks(t *testing.T) {
	const events = 5
	var sent atomic.Int32
	addr := startServer(t, testServerConfig(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range events {
			fmt.Fprintf(w, "data: %d\n\n", i)
			if err := http.NewResponseController(w).Flush(); err != nil {
				return
			}
			sent.Add(1)
			select {
			case <-r.Context().Done():
				return
			case <-time.After(400 * time.Millisecond): // the stream's own pace
			}
		}
	}))
	resp, err := http.Get("http://" + addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	b, err := io.ReadAll(resp.Body)
	if err != nil || strings.Count(string(b), "data: ") != events {
		t.Fatalf("read %q, %v: want %d events", b, err, events)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("the stream lasted %s, not longer than the timeouts", took)
	}
}

func TestServerConfig_Defaults(t *testing.T) {
	srv := NewServer(http.NotFoundHandler(), ServerConfig{})
	d := DefaultServerConfig()
	if srv.ReadHeaderTimeout != d.ReadHeaderTimeout || srv.IdleTimeout != d.IdleTimeout || srv.WriteTimeout != 0 || srv.ReadTimeout != 0 {
		t.Fatalf("server timeouts %s %s %s %s", srv.ReadHeaderTimeout, srv.IdleTimeout, srv.WriteTimeout, srv.ReadTimeout)
	}
	if d.ReadHeaderTimeout <= 0 || d.IdleTimeout <= 0 || d.BodyWindow <= 0 || d.MinBodyRate <= 0 || d.WriteTimeout <= 0 {
		t.Fatalf("defaults %+v", d)
	}
}
