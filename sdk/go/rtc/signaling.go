package rtc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// sessionsPath is the signaling endpoint (docs/api.md).
const sessionsPath = "/v1/rtc/sessions"

// signaler speaks WHIP-style signaling: POST the offer, PATCH trickled
// candidates to the session's Location, DELETE it at the end.
type signaler struct {
	base   string
	apiKey string
	client *http.Client

	mu       sync.Mutex
	location string // absolute URL of the session, once created
}

func newSignaler(base, apiKey string, client *http.Client) *signaler {
	return &signaler{base: strings.TrimRight(base, "/"), apiKey: apiKey, client: client}
}

func (g *signaler) do(ctx context.Context, method, u, ctype string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if g.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+g.apiKey)
	}
	return g.client.Do(req)
}

// offer posts the SDP offer and returns the answer.
func (g *signaler) offer(ctx context.Context, sdp string) (string, error) {
	u := g.base + sessionsPath
	resp, err := g.do(ctx, http.MethodPost, u, "application/sdp", []byte(sdp))
	if err != nil {
		return "", fmt.Errorf("rtc: offer: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", readSignalingError("POST "+u, resp)
	}
	loc, err := resp.Location()
	if err != nil {
		return "", fmt.Errorf("rtc: offer: the answer has no Location: %w", err)
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	if err != nil {
		return "", fmt.Errorf("rtc: offer: reading the answer: %w", err)
	}
	g.mu.Lock()
	g.location = loc.String()
	g.mu.Unlock()
	return string(answer), nil
}

func (g *signaler) session() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.location
}

func (g *signaler) locationPath() string {
	u, err := url.Parse(g.session())
	if err != nil {
		return ""
	}
	return u.Path
}

// trickle sends one trickle-ice-sdpfrag (RFC 8840).
func (g *signaler) trickle(ctx context.Context, frag string) error {
	u := g.session()
	if u == "" {
		return fmt.Errorf("rtc: trickle before the session exists")
	}
	resp, err := g.do(ctx, http.MethodPatch, u, "application/trickle-ice-sdpfrag", []byte(frag))
	if err != nil {
		return fmt.Errorf("rtc: trickle: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return readSignalingError("PATCH "+u, resp)
	}
	return nil
}

// delete ends the session on the server; failures are ignored (the edge
// closes idle sessions anyway).
func (g *signaler) delete(ctx context.Context) {
	u := g.session()
	if u == "" {
		return
	}
	if resp, err := g.do(ctx, http.MethodDelete, u, "", nil); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

// fragment builds a trickle-ice-sdpfrag for candidates of media mid.
func fragment(ufrag, pwd, mid string, candidates []string, end bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:%s\r\n", ufrag, pwd, mid)
	for _, c := range candidates {
		fmt.Fprintf(&b, "a=%s\r\n", c)
	}
	if end {
		b.WriteString("a=end-of-candidates\r\n")
	}
	return b.String()
}

// trickler PATCHes local ICE candidates to the session, in order, once
// the session exists; candidates found before that wait.
type trickler struct {
	s      *Session
	mu     sync.Mutex
	queue  []string
	end    bool
	ready  bool
	cred   [3]string // ufrag, pwd, mid
	wake   chan struct{}
	closed bool
}

func newTrickler(s *Session) *trickler { return &trickler{s: s, wake: make(chan struct{}, 1)} }

// add is the OnICECandidate callback; nil means gathering finished.
func (t *trickler) add(c *webrtc.ICECandidate) {
	t.mu.Lock()
	if c == nil {
		t.end = true
	} else {
		t.queue = append(t.queue, c.ToJSON().Candidate)
	}
	t.mu.Unlock()
	t.poke()
}

func (t *trickler) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// start begins sending, now that the session has a Location.
func (t *trickler) start(ufrag, pwd, mid string) {
	t.mu.Lock()
	t.ready, t.cred = true, [3]string{ufrag, pwd, mid}
	t.mu.Unlock()
	t.s.goFunc(t.run)
	t.poke()
}

func (t *trickler) run() {
	for {
		select {
		case <-t.s.ctx.Done():
			return
		case <-t.wake:
		}
		t.mu.Lock()
		cands, end := t.queue, t.end && !t.closed
		t.queue = nil
		if end {
			t.closed = true
		}
		cred := t.cred
		t.mu.Unlock()
		if len(cands) == 0 && !end {
			continue
		}
		ctx, cancel := context.WithTimeout(t.s.ctx, 5*time.Second)
		// A refused candidate is not fatal: others may still connect.
		_ = t.s.sig.trickle(ctx, fragment(cred[0], cred[1], cred[2], cands, end))
		cancel()
		if end {
			return
		}
	}
}
