package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	tests := map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.20.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "::1": false,
		"fe80::1": false, "fd00::1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
		"224.0.0.1": false, "fd00:ec2::254": false,
	}
	for s, want := range tests {
		t.Run(s, func(t *testing.T) {
			if got := Public(netip.MustParseAddr(s)); got != want {
				t.Fatalf("Public(%s) = %v", s, got)
			}
		})
	}
}

func TestToFile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("hello"))
		case "/big":
			w.Write([]byte(strings.Repeat("x", 100)))
		case "/redirect":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	dst := filepath.Join(t.TempDir(), "f")

	// The test server is on loopback: refused unless private addresses are allowed.
	if _, err := New(50, 5*time.Second, false).ToFile(ctx, srv.URL+"/ok", dst); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("loopback fetched: %v", err)
	}
	f := New(50, 5*time.Second, true)
	if n, err := f.ToFile(ctx, srv.URL+"/ok", dst); err != nil || n != 5 {
		t.Fatal(n, err)
	}
	if _, err := f.ToFile(ctx, srv.URL+"/big", dst); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := f.ToFile(ctx, srv.URL+"/nope", dst); !errors.Is(err, ErrStatus) {
		t.Fatalf("404: %v", err)
	}
	if _, err := f.ToFile(ctx, srv.URL+"/redirect", dst); err == nil {
		t.Fatal("redirect to file:// followed")
	}
	for _, u := range []string{"ftp://x/y", "file:///etc/passwd", "http://user:pw@example.com/", "gopher://x"} {
		if _, err := f.ToFile(ctx, u, dst); !errors.Is(err, ErrBadURL) {
			t.Fatalf("%s: %v", u, err)
		}
	}
}
