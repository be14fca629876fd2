package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"syscall"
	"time"
)

var (
	// ErrForbiddenAddress is returned for a URL that resolves to a
	// non-public address.
	ErrForbiddenAddress = errors.New("fetch: the URL resolves to a private or local address")
	// ErrTooLarge is returned when the body exceeds MaxBytes.
	ErrTooLarge = errors.New("fetch: the resource is over the size limit")
	// ErrBadURL is returned for a URL that is not http(s).
	ErrBadURL = errors.New("fetch: only http and https URLs are fetched")
	// ErrStatus is returned for a non-2xx answer.
	ErrStatus = errors.New("fetch: the server answered with an error")
)

// Fetcher downloads URLs.
type Fetcher struct {
	MaxBytes int64
	Timeout  time.Duration
	// AllowPrivate lets an operator fetch from private addresses (tests,
	// internal asset servers). Off by default.
	AllowPrivate bool
	client       *http.Client
}

// New returns a fetcher with the given limits.
func New(maxBytes int64, timeout time.Duration, allowPrivate bool) *Fetcher {
	f := &Fetcher{MaxBytes: maxBytes, Timeout: timeout, AllowPrivate: allowPrivate}
	d := &net.Dialer{Timeout: 10 * time.Second, Control: f.control}
	f.client = &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:           d.DialContext,
			Proxy:                 nil, // a proxy would hide the real destination
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConns:          16,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("fetch: too many redirects")
			}
			return CheckURL(req.URL.String())
		},
	}
	return f
}

// CheckURL refuses URLs that are not http(s) or carry credentials.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: %q", ErrBadURL, raw)
	}
	return nil
}

// control runs after DNS resolution, on the address actually dialled.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	if f.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	if !Public(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}

var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96", "2001:db8::/32", "100::/64",
		"fd00:ec2::254/128",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// Public reports whether addr is a public unicast address (IPv4-mapped
// IPv6 addresses are judged as IPv4).
func Public(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsUnspecified() || addr.IsLoopback() || addr.IsPrivate() ||
		addr.IsLinkLocalUnicast() || addr.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// ToFile downloads raw into the file at dst and returns its size. A
// partial file is removed on error.
func (f *Fetcher) ToFile(ctx context.Context, raw, dst string) (int64, error) {
	if err := CheckURL(raw); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	req.Header.Set("User-Agent", "stickerd-fetch/1")
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, fmt.Errorf("%w: %s", ErrStatus, resp.Status)
	}
	if f.MaxBytes > 0 && resp.ContentLength > f.MaxBytes {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, resp.ContentLength, f.MaxBytes)
	}
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(resp.Body, f.MaxBytes+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && f.MaxBytes > 0 && n > f.MaxBytes {
		err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, f.MaxBytes)
	}
	if err != nil {
		os.Remove(dst)
		return 0, err
	}
	return n, nil
}
