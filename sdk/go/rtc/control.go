package rtc

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"
)

// Reply is the edge's answer to one control message.
type Reply struct {
	Op      string `json:"op"` // "ack" or "error"
	ID      string `json:"id,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

// controlChannel matches the edge's replies to requests: the edge answers
// every message exactly once and in order, so replies pop a FIFO.
type controlChannel struct {
	s      *Session
	dc     *webrtc.DataChannel
	opened chan struct{}

	mu      sync.Mutex
	pending []chan Reply
	err     error
}

func newControlChannel(s *Session, dc *webrtc.DataChannel) *controlChannel {
	c := &controlChannel{s: s, dc: dc, opened: make(chan struct{})}
	dc.OnOpen(func() { close(c.opened) })
	dc.OnMessage(c.onMessage)
	dc.OnClose(func() { c.fail(ErrClosed) })
	return c
}

func (c *controlChannel) onMessage(m webrtc.DataChannelMessage) {
	var r struct {
		Reply
		Stats
	}
	if json.Unmarshal(m.Data, &r) != nil {
		return
	}
	switch r.Op {
	case "stats":
		if c.s.cb.OnStats != nil {
			c.s.cb.OnStats(r.Stats)
		}
		return
	case "ack":
		if c.s.cb.OnStickerAck != nil && r.ID != "" {
			c.s.cb.OnStickerAck(r.ID)
		}
	case "error":
		if r.Code == "RTC_MEDIA_FAILED" { // about the video, not an answer
			c.s.unprompted(r.Code, r.Message)
			return
		}
	default:
		return
	}
	c.mu.Lock()
	var w chan Reply
	if len(c.pending) > 0 {
		w, c.pending = c.pending[0], c.pending[1:]
	}
	c.mu.Unlock()
	if w == nil {
		if r.Op == "error" {
			c.s.unprompted(r.Code, r.Message)
		}
		return
	}
	w <- r.Reply
}

// fail ends every waiting request with err.
func (c *controlChannel) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
	for _, w := range c.pending {
		close(w)
	}
	c.pending = nil
}

// request sends one raw message and waits for its reply.
func (c *controlChannel) request(ctx context.Context, msg []byte) (Reply, error) {
	w := make(chan Reply, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return Reply{}, c.err
	}
	// Enqueue and send under the lock so that the FIFO order is the wire order.
	c.pending = append(c.pending, w)
	err := c.dc.Send(msg)
	if err != nil {
		c.pending = c.pending[:len(c.pending)-1]
	}
	c.mu.Unlock()
	if err != nil {
		return Reply{}, fmt.Errorf("rtc: sending a control message: %w", err)
	}
	select {
	case r, ok := <-w:
		if !ok {
			return Reply{}, ErrClosed
		}
		return r, nil
	case <-ctx.Done():
		return Reply{}, ctx.Err() // the reply, when it comes, pops this waiter
	}
}

func (s *Session) unprompted(code, msg string) {
	if s.cb.OnError != nil {
		s.cb.OnError(code, msg)
	}
}
