package stickerd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/backoff"
)

// Defaults of a Client; a zero field means its default.
const (
	DefaultMaxRetries   = 3
	DefaultMaxRetryWait = 30 * time.Second
	DefaultPollInterval = time.Second
	userAgent           = "stickerd-go/1"
)

// Client talks to a stickerd gateway over its REST API. Its methods are safe
// for concurrent use; its fields should not change once it is in use.
type Client struct {
	// BaseURL is the gateway's address, e.g. "http://127.0.0.1:8080". A path
	// prefix is kept ("https://host/stickerd").
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>" when set.
	APIKey string
	// HTTPClient sends the requests; http.DefaultClient when nil. Its Timeout
	// should be zero or long: it bounds whole downloads and event streams.
	HTTPClient *http.Client
	// UserAgent is sent with every request.
	UserAgent string
	// MaxRetries bounds the retries of a retryable request (a GET, or a
	// submit with an idempotency key) answered 429 or 503. Negative: none.
	MaxRetries int
	// MaxRetryWait is the longest Retry-After the client waits out; a
	// longer one is returned as the *APIError at once.
	MaxRetryWait time.Duration
	// PollInterval paces Wait when it falls back to polling.
	PollInterval time.Duration

	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client made by New.
type Option func(*Client)

// WithAPIKey sets the API key sent as a bearer token.
func WithAPIKey(key string) Option { return func(c *Client) { c.APIKey = key } }

// WithHTTPClient sets the HTTP client that sends the requests.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.HTTPClient = h } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.UserAgent = ua } }

// WithRetries sets how often a retryable request is retried on 429 and 503,
// and the longest Retry-After that is waited out.
func WithRetries(max int, maxWait time.Duration) Option {
	return func(c *Client) { c.MaxRetries, c.MaxRetryWait = max, maxWait }
}

// WithPollInterval sets how often Wait polls once the event stream broke.
func WithPollInterval(d time.Duration) Option { return func(c *Client) { c.PollInterval = d } }

// New returns a client for the gateway at baseURL. A URL without a scheme
// gets "http://".
func New(baseURL string, opts ...Option) *Client {
	if baseURL != "" && !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	c := &Client{BaseURL: strings.TrimRight(baseURL, "/"), UserAgent: userAgent,
		MaxRetries: DefaultMaxRetries, MaxRetryWait: DefaultMaxRetryWait, PollInterval: DefaultPollInterval}
	for _, o := range opts {
		o(c)
	}
	return c
}

// request is one API call. A body in body is replayed on a retry; one in
// stream is sent once.
type request struct {
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
	stream       io.Reader
	length       int64 // of stream, when known (> 0)
	contentType  string
	retry        bool // safe to send again on 429/503
}

// send performs req, retrying it as allowed, and returns a 2xx response
// (the caller closes its body) or an error: an *APIError for any other status.
func (c *Client) send(ctx context.Context, req request) (*http.Response, error) {
	u, err := c.url(req.path, req.query)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		hr, err := http.NewRequestWithContext(ctx, req.method, u, c.body(req))
		if err != nil {
			return nil, fmt.Errorf("stickerd: %w", err)
		}
		if req.stream != nil && req.length > 0 {
			hr.ContentLength = req.length
		}
		for k, v := range req.header {
			hr.Header[k] = v
		}
		if req.contentType != "" {
			hr.Header.Set("Content-Type", req.contentType)
		}
		if hr.Header.Get("Accept") == "" {
			hr.Header.Set("Accept", "application/json")
		}
		if c.APIKey != "" {
			hr.Header.Set("Authorization", "Bearer "+c.APIKey)
		}
		hr.Header.Set("User-Agent", c.ua())
		resp, err := c.httpClient().Do(hr)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		apiErr := readAPIError(resp)
		if !req.retry || !apiErr.Temporary() || attempt >= c.maxRetries() {
			return nil, apiErr
		}
		wait := apiErr.RetryAfter
		if wait == 0 {
			wait = retryBackoff.Delay(attempt + 1)
		}
		if wait > c.maxRetryWait() {
			return nil, apiErr
		}
		if err := c.wait(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// sendJSON performs req and decodes a JSON answer into out (when not nil).
func (c *Client) sendJSON(ctx context.Context, req request, out any) (int, error) {
	resp, err := c.send(ctx, req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("stickerd: %s %s: reading the answer: %w", req.method, req.path, err)
	}
	return resp.StatusCode, nil
}

func (c *Client) body(req request) io.Reader {
	if req.stream != nil {
		return req.stream
	}
	if req.body != nil {
		return bytes.NewReader(req.body)
	}
	return nil
}

func (c *Client) url(path string, query url.Values) (string, error) {
	base, err := url.Parse(c.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return "", fmt.Errorf("stickerd: base URL %q: want http(s)://host[:port]", c.BaseURL)
	}
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u, nil
}

// retryBackoff spaces retries when the server named no Retry-After, and
// resumed downloads: 250ms doubling to 5s.
var retryBackoff = backoff.Policy{Initial: 250 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2}

func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *Client) ua() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return userAgent
}

func (c *Client) maxRetries() int {
	if c.MaxRetries == 0 {
		return DefaultMaxRetries
	}
	return max(c.MaxRetries, 0)
}

func (c *Client) maxRetryWait() time.Duration {
	if c.MaxRetryWait == 0 {
		return DefaultMaxRetryWait
	}
	return c.MaxRetryWait
}

func (c *Client) pollInterval() time.Duration {
	if c.PollInterval <= 0 {
		return DefaultPollInterval
	}
	return c.PollInterval
}
