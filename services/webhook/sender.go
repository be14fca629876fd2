package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/fetch"
	"github.com/stickerd/stickerd/internal/tracing"
)

// userAgent names the sender to receivers' logs.
const userAgent = "stickerd-webhook/1"

// Sender delivers signed webhooks. It is safe for concurrent use.
type Sender struct {
	cfg    Config
	keys   [][]byte // Secret's first, then PreviousSecrets'
	client *http.Client
}

// NewSender validates cfg and returns a Sender.
func NewSender(cfg Config) (*Sender, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg}
	for _, secret := range append([]string{cfg.Secret}, cfg.PreviousSecrets...) {
		key, _ := ParseSecret(secret) // checked by Validate
		s.keys = append(s.keys, key)
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, Control: s.control}
	s.client = &http.Client{
		Timeout: cfg.Timeout,
		Transport: tracing.HTTPTransport(&http.Transport{
			DialContext:         dialer.DialContext,
			Proxy:               nil, // a proxy would hide the real destination
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: cfg.Timeout,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		}),
		// A redirect is an answer, not a new destination: a receiver
		// could otherwise bounce us to an internal address's URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

// control runs after DNS resolution, on the address actually dialled.
func (s *Sender) control(_, address string, _ syscall.RawConn) error {
	if s.cfg.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !fetch.Public(ap.Addr()) {
		return fmt.Errorf("%w: %s", fetch.ErrForbiddenAddress, address)
	}
	return nil
}

// deliver is Deliver (trace.go) without its span.
func (s *Sender) deliver(ctx context.Context, rawURL, id string, body []byte) error {
	if err := fetch.CheckURL(rawURL); err != nil {
		return errcode.Wrap(errcode.WebhookFailed, err, "webhook %s: the URL is not an http(s) URL without credentials", id)
	}
	if id == "" {
		return errcode.New(errcode.WebhookFailed, "webhook: empty message id")
	}
	u, _ := url.Parse(rawURL) // checked by CheckURL
	host := u.Host            // the path and query may hold the receiver's secrets
	hostErr := fetch.CheckHost(u.Hostname())
	if s.cfg.AllowPrivate && !errors.Is(hostErr, fetch.ErrNumericHost) {
		hostErr = nil
	}
	for attempt := 1; ; attempt++ {
		a := &AttemptError{Err: hostErr} // a refused host is never dialled
		if hostErr == nil {
			if a = s.attempt(ctx, rawURL, id, body); a == nil {
				return nil
			}
		}
		a.Attempt = attempt
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("webhook %s: %w", id, ctx.Err())
		}
		if !a.retryable() || attempt >= s.cfg.MaxAttempts || ctx.Err() != nil {
			return failed(id, host, a)
		}
		if err := s.cfg.Clock.Sleep(ctx, s.wait(attempt, a.RetryAfter)); err != nil {
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("webhook %s: %w", id, err)
			}
			return failed(id, host, a)
		}
	}
}

// failed is the WEBHOOK_FAILED error of a delivery given up after a: its
// message says why, so that the log line of a failed delivery does.
func failed(id, host string, a *AttemptError) error {
	return errcode.Wrap(errcode.WebhookFailed, a, "webhook %s to %s failed after %d attempt(s): %s", id, host, a.Attempt, a.reason())
}

// attempt makes one signed POST; nil means delivered.
func (s *Sender) attempt(ctx context.Context, rawURL, id string, body []byte) *AttemptError {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return &AttemptError{Err: err}
	}
	unix := s.cfg.Clock.Now().Unix()
	var sigs []byte
	for i, key := range s.keys {
		if i > 0 {
			sigs = append(sigs, ' ')
		}
		sigs = append(sigs, sign(key, id, unix, body)...)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(unix, 10))
	req.Header.Set(HeaderSignature, string(sigs))
	resp, err := s.client.Do(req)
	if err != nil {
		return &AttemptError{Err: err}
	}
	// Drain a little so the connection can be reused; receivers' answers
	// carry nothing we need.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return &AttemptError{
		StatusCode: resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), s.cfg.Clock.Now()),
	}
}

// wait is the pause after failed attempt number attempt (1-based): the
// receiver's Retry-After when it sent one, otherwise BackoffBase doubled
// per attempt with "equal jitter" (half fixed, half random), so retries of
// many deliveries to one receiver spread out but still grow. Either is
// capped at BackoffMax.
func (s *Sender) wait(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, s.cfg.BackoffMax)
	}
	return s.cfg.retry().Delay(attempt)
}

// parseRetryAfter reads a Retry-After header, delay-seconds or an
// HTTP-date (RFC 9110 §10.2.3); 0 when absent, malformed or past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
