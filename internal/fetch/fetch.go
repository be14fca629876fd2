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

	"github.com/stickerd/stickerd/internal/tracing"
)

// maxRedirects is how many redirects one fetch follows.
const maxRedirects = 5

var errTooManyRedirects = errors.New("fetch: too many redirects")

// Fetcher downloads URLs.
type Fetcher struct {
	MaxBytes int64
	Timeout  time.Duration
	// AllowPrivate lets an operator fetch from private addresses (tests,
	// internal asset servers). Off by default.
	AllowPrivate bool
	// Resolver looks up host names; nil is net.DefaultResolver.
	Resolver *net.Resolver
	client   *http.Client
}

// New returns a fetcher with the given limits.
func New(maxBytes int64, timeout time.Duration, allowPrivate bool) *Fetcher {
	f := &Fetcher{MaxBytes: maxBytes, Timeout: timeout, AllowPrivate: allowPrivate}
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		d := &net.Dialer{Timeout: 10 * time.Second, Control: f.control, Resolver: f.Resolver}
		return d.DialContext(ctx, network, address)
	}
	f.client = &http.Client{
		Timeout: timeout,
		Transport: tracing.HTTPTransport(&http.Transport{
			DialContext:           dial,
			Proxy:                 nil, // a proxy would hide the real destination
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConns:          16,
		}),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: %w", ErrRedirect, errTooManyRedirects)
			}
			if err := f.checkURL(req.URL.String()); err != nil {
				return fmt.Errorf("%w: %w", ErrRedirect, err)
			}
			return nil
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

// checkURL is CheckURL and CheckHost as this fetcher applies them: a
// numeric host in a non-canonical form is refused even with
// AllowPrivate.
func (f *Fetcher) checkURL(raw string) error {
	if err := CheckURL(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	err := CheckHost(u.Hostname())
	if err == nil || (f.AllowPrivate && !errors.Is(err, ErrNumericHost)) {
		return nil
	}
	return err
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

// ToFile downloads raw into the file at dst and returns its size. A
// partial file is removed on error. Errors are *Error (or ctx's error):
// their messages are fit for the client, errcode.Permanent tells whether
// another attempt may succeed.
func (f *Fetcher) ToFile(ctx context.Context, raw, dst string) (int64, error) {
	if err := CheckURL(raw); err != nil {
		return 0, newError(ErrBadURL, true, err, "only http and https URLs without credentials are fetched")
	}
	u, _ := url.Parse(raw)
	host := u.Hostname()
	if err := f.checkURL(raw); err != nil {
		return 0, classify(host, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return 0, newError(ErrBadURL, true, err, "the URL is not valid")
	}
	req.Header.Set("User-Agent", "stickerd-fetch/1")
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, classify(host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, statusError(host, resp.Status, resp.StatusCode)
	}
	if f.MaxBytes > 0 && resp.ContentLength > f.MaxBytes {
		return 0, newError(ErrTooLarge, true, nil, "%s serves %d bytes, over the limit of %d", host, resp.ContentLength, f.MaxBytes)
	}
	out, err := os.Create(dst)
	if err != nil {
		return 0, newError(ErrStore, false, err, "the download could not be stored on the worker")
	}
	n, err := copyBody(out, resp.Body, f.MaxBytes)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = newError(ErrStore, false, cerr, "the download could not be stored on the worker")
	}
	if err != nil {
		os.Remove(dst)
		var fe *Error
		if !errors.As(err, &fe) {
			err = classify(host, err)
		}
		return 0, err
	}
	return n, nil
}

// copyBody copies at most max bytes (0: no limit) of body to out, telling
// a write error (local) from a read error (the server's side).
func copyBody(out io.Writer, body io.Reader, max int64) (int64, error) {
	if max > 0 {
		body = io.LimitReader(body, max+1)
	}
	var n int64
	buf := make([]byte, 32<<10)
	for {
		r, rerr := body.Read(buf)
		if r > 0 {
			w, werr := out.Write(buf[:r])
			n += int64(w)
			if werr != nil {
				return n, newError(ErrStore, false, werr, "the download could not be stored on the worker")
			}
		}
		if max > 0 && n > max {
			return n, newError(ErrTooLarge, true, nil, "the resource is over the limit of %d bytes", max)
		}
		if errors.Is(rerr, io.EOF) {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
