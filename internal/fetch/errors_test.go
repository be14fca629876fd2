package fetch

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
)

// fakeDNS answers every query from a UDP socket on loopback with rcode
// (3: NXDOMAIN, 2: SERVFAIL; 0: every A query is 127.0.0.1, other types
// have no answer) and stops with the test.
func fakeDNS(t *testing.T, rcode byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			msg := append([]byte(nil), buf[:n]...)
			flags := binary.BigEndian.Uint16(msg[2:])
			flags |= 1 << 15 // a response
			flags |= 1 << 7  // recursion available
			flags = flags&^0xf | uint16(rcode)
			binary.BigEndian.PutUint16(msg[2:], flags)
			if q := 12 + questionLen(msg[12:]); rcode == 0 && binary.BigEndian.Uint16(msg[q-4:]) == 1 { // QTYPE A
				binary.BigEndian.PutUint16(msg[6:], 1)  // one answer
				binary.BigEndian.PutUint16(msg[10:], 0) // no additional records (EDNS)
				msg = msg[:q]
				msg = append(msg, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
			}
			pc.WriteTo(msg, from)
		}
	}()
	return pc.LocalAddr().String()
}

// questionLen is the length of the question that starts msg.
func questionLen(msg []byte) int {
	i := 0
	for msg[i] != 0 {
		i += int(msg[i]) + 1
	}
	return i + 1 + 4
}

// resolverVia sends every DNS query to addr, whatever resolv.conf names.
func resolverVia(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func TestToFile_ErrorsAreClassifiedAndScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.Error(w, "gone", http.StatusGone)
		case "/busy":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case "/slow-down":
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close() // nothing listens there any more
	nxdomain, servfail, rebind := fakeDNS(t, 3), fakeDNS(t, 2), fakeDNS(t, 0)
	// The URLs name hosts, as clients write them: a message may name the
	// URL's host but not the address it resolved to.
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	_, port, _ := net.SplitHostPort(closed.Addr().String())
	_, srvPort, _ := net.SplitHostPort(srv.Listener.Addr().String())

	tests := []struct {
		name      string
		url       string
		resolver  string // DNS server, "" for the default resolver
		private   bool
		kind      error
		permanent bool
	}{
		{"404", base + "/missing", "", true, ErrStatus, true},
		{"410", base + "/gone", "", true, ErrStatus, true},
		{"503", base + "/busy", "", true, ErrStatus, false},
		{"429", base + "/slow-down", "", true, ErrStatus, false},
		{"redirect loop", base + "/loop", "", true, ErrRedirect, true},
		{"localhost", base + "/ok", "", false, ErrForbiddenAddress, true},
		{"name resolving to loopback", "http://rebound.example.com:" + srvPort + "/ok", rebind, false, ErrForbiddenAddress, true},
		{"numeric host", "http://2130706433/", "", false, ErrForbiddenAddress, true},
		{"numeric host, private allowed", "http://0x7f.1:" + srvPort + "/ok", "", true, ErrNumericHost, true},
		{"connection refused", "http://localhost:" + port + "/x", "", true, ErrUnreachable, false},
		{"no such host", "http://no-such-host.example.com/x.png", nxdomain, true, ErrHostNotFound, true},
		{"DNS failure", "http://flaky.example.com/x.png", servfail, true, ErrDNS, false},
		{"bad scheme", "file:///etc/passwd", "", true, ErrBadURL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(1<<20, 5*time.Second, tt.private)
			if tt.resolver != "" {
				f.Resolver = resolverVia(tt.resolver)
			}
			dst := filepath.Join(t.TempDir(), "f")
			_, err := f.ToFile(context.Background(), tt.url, dst)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("ToFile = %v, want %v", err, tt.kind)
			}
			if got := errcode.Permanent(err); got != tt.permanent {
				t.Fatalf("Permanent(%v) = %v, want %v", err, got, tt.permanent)
			}
			msg := err.Error()
			for _, leak := range []string{"127.0.0.1", tt.resolver, dst, "dial tcp", "lookup "} {
				if leak != "" && strings.Contains(msg, leak) {
					t.Fatalf("message %q shows %q", msg, leak)
				}
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Fatalf("a partial file is left: %v", err)
			}
		})
	}
}

// A message built from a resolver's error never names the resolver.
func TestMessage_ScrubsResolverAddress(t *testing.T) {
	dnsErr := &net.DNSError{Err: "no such host", Name: "cdn.example.com", Server: "10.96.0.10:53", IsNotFound: true}
	err := classify("cdn.example.com", &net.OpError{Op: "dial", Net: "tcp", Err: dnsErr})
	if strings.Contains(err.Error(), "10.96.0.10") || !strings.Contains(err.Error(), "cdn.example.com") {
		t.Fatalf("message %q", err)
	}
	if !errors.Is(err, ErrHostNotFound) || !errcode.Permanent(err) {
		t.Fatalf("%v: want a permanent ErrHostNotFound", err)
	}
	var de *net.DNSError
	if !errors.As(err, &de) {
		t.Fatal("the cause is not kept for the logs")
	}
}
