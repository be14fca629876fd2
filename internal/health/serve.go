package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// ServerConfig bounds how long a client may hold a connection to one of
// stickerd's HTTP servers. A slow client is cut, but a large upload at a
// reasonable rate, a long download and an event stream that lasts hours
// all work: the body and write rules are per byte, not per request. Zero
// fields take their defaults.
type ServerConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that has waited this
	// long for its next request. Default 60s.
	IdleTimeout time.Duration
	// BodyWindow and MinBodyRate (bytes per second) keep a request body
	// moving: the first BodyWindow of a body, and every BodyWindow after
	// each further MinBodyRate×BodyWindow bytes, must bring
	// MinBodyRate×BodyWindow bytes, or the read fails with ErrSlowBody and
	// the connection is closed. Defaults 30s and 1 KiB/s: a client
	// dripping a byte every few seconds is cut within 30s, and a 1 GB
	// upload at any rate over 1 KiB/s completes.
	BodyWindow  time.Duration
	MinBodyRate int64
	// WriteTimeout bounds each write of a response to the connection,
	// not the whole response: a client that stops reading is cut after
	// this long, a stream to a client that keeps reading lasts as long as
	// it has events. Default 30s.
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown once the context ends.
	// Default 5s.
	ShutdownTimeout time.Duration
}

// DefaultServerConfig returns the defaults of every stickerd HTTP server.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		BodyWindow:        30 * time.Second,
		MinBodyRate:       1 << 10,
		WriteTimeout:      30 * time.Second,
		ShutdownTimeout:   5 * time.Second,
	}
}

func (c ServerConfig) withDefaults() ServerConfig {
	d := DefaultServerConfig()
	for _, f := range []struct{ v, d *time.Duration }{
		{&c.ReadHeaderTimeout, &d.ReadHeaderTimeout}, {&c.IdleTimeout, &d.IdleTimeout}, {&c.BodyWindow, &d.BodyWindow},
		{&c.WriteTimeout, &d.WriteTimeout}, {&c.ShutdownTimeout, &d.ShutdownTimeout},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	if c.MinBodyRate <= 0 {
		c.MinBodyRate = d.MinBodyRate
	}
	return c
}

// NewServer returns an http.Server for h with cfg's limits. It sets no
// ReadTimeout or WriteTimeout, which would bound whole requests and
// responses (and so kill uploads and event streams); h is wrapped to
// apply the per-byte rules instead.
func NewServer(h http.Handler, cfg ServerConfig) *http.Server {
	cfg = cfg.withDefaults()
	return &http.Server{
		Handler:           &limited{next: h, cfg: cfg},
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
	}
}

// Serve serves h on addr with the default limits until ctx ends, then
// shuts down gracefully. It is the one way stickerd serves HTTP.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ServeListener(ctx, lis, h, DefaultServerConfig())
}

// ServeListener serves h on lis with cfg's limits until ctx ends, then
// shuts down gracefully.
func ServeListener(ctx context.Context, lis net.Listener, h http.Handler, cfg ServerConfig) error {
	cfg = cfg.withDefaults()
	srv := NewServer(h, cfg)
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close() // event streams do not end on their own
		}
	}()
	if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// limited applies a ServerConfig's body and write rules to each request.
type limited struct {
	next http.Handler
	cfg  ServerConfig
}

func (l *limited) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	dw := &deadlineWriter{ResponseWriter: w, rc: rc, timeout: l.cfg.WriteTimeout}
	dw.arm() // for a 100 Continue the server writes on the first body read
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		br := &bodyReader{ReadCloser: r.Body, rc: rc, window: l.cfg.BodyWindow,
			chunk: max(1, l.cfg.MinBodyRate*int64(l.cfg.BodyWindow)/int64(time.Second))}
		br.extend()
		r.Body = br
	}
	defer dw.arm() // for the server's final flush after the handler
	l.next.ServeHTTP(dw, r)
}

// bodyReader moves the connection's read deadline on by a window each
// time another chunk of the body has arrived, and clears it at the end of
// the body, so that the server's wait for the next request is bounded by
// IdleTimeout alone (and an event stream's context is not canceled).
type bodyReader struct {
	io.ReadCloser
	rc     *http.ResponseController
	window time.Duration
	chunk  int64 // bytes that earn another window
	got    int64 // since the last extension
	done   bool
}

func (b *bodyReader) extend() { _ = b.rc.SetReadDeadline(time.Now().Add(b.window)) }

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.done {
		return n, err
	}
	if b.got += int64(n); b.got >= b.chunk {
		b.got = 0
		b.extend()
	}
	switch {
	case errors.Is(err, io.EOF):
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.done = true
		err = fmt.Errorf("%w: less than %d bytes in %s (%w)", ErrSlowBody, b.chunk, b.window, err)
	}
	return n, err
}

// deadlineWriter gives each write to the connection WriteTimeout to
// complete.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (w *deadlineWriter) arm() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout)) }

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(p)
}

// FlushError lets http.ResponseController.Flush report a failed flush.
func (w *deadlineWriter) FlushError() error {
	w.arm()
	return w.rc.Flush()
}

// Flush implements http.Flusher, for gin and handlers that assert it.
func (w *deadlineWriter) Flush() { _ = w.FlushError() }

// Hijack hands the connection over without the deadlines set here.
func (w *deadlineWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := w.rc.Hijack()
	if err == nil {
		_ = conn.SetDeadline(time.Time{})
	}
	return conn, rw, err
}

// CloseNotify keeps gin's CloseNotify working (it asserts the interface).
func (w *deadlineWriter) CloseNotify() <-chan bool {
	if cn, ok := w.ResponseWriter.(http.CloseNotifier); ok { //nolint:staticcheck // gin still asks
		return cn.CloseNotify()
	}
	return nil
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// IsLoopback reports whether addr (host:port) listens on loopback only,
// where a gateway or edge without API keys accepts requests without a key.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
