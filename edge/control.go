package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/stickerd/stickerd/internal/errcode"
)

// ControlLabel is the label of the sticker control data channel.
const ControlLabel = "control"

// maxPendingOps bounds the control messages waiting to be applied;
// assetTimeout bounds loading one sticker's picture.
const (
	maxPendingOps = 64
	assetTimeout  = 10 * time.Second
)

// reply is an edge → client control message (docs/api.md, "Realtime
// data channel"); id, field and errors are additions clients may ignore.
type reply struct {
	Op      string               `json:"op"`
	ID      string               `json:"id,omitempty"`
	Code    errcode.Code         `json:"code,omitempty"`
	Message string               `json:"message,omitempty"`
	Field   string               `json:"field,omitempty"`
	Errors  []errcode.FieldError `json:"errors,omitempty"`
}

// statsMsg is the once-a-second stats message.
type statsMsg struct {
	Op            string  `json:"op"`
	FPS           float64 `json:"fps"`
	LatencyP50    float64 `json:"latency_ms_p50"`
	LatencyP95    float64 `json:"latency_ms_p95"`
	FramesDropped int64   `json:"frames_dropped"`
}

// control serves one session's control channel: messages are applied in
// order on their own goroutine, and each gets exactly one ack or error.
type control struct {
	s     *session
	dc    *webrtc.DataChannel
	queue chan []byte
	sendM sync.Mutex
}

func newControl(s *session, dc *webrtc.DataChannel) *control {
	c := &control{s: s, dc: dc, queue: make(chan []byte, maxPendingOps)}
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		// Every message goes through the queue, even one refused at once, so
		// that replies keep the order of the messages. A full queue holds up
		// the channel's reader: back-pressure rather than loss.
		select {
		case c.queue <- m.Data:
		case <-s.ctx.Done():
		}
	})
	return c
}

// run applies queued messages until ctx ends.
func (c *control) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-c.queue:
			c.handle(ctx, msg)
		}
	}
}

// envelope is the part of a control message common to every op.
type envelope struct {
	Op string `json:"op"`
	ID string `json:"id"`
}

func (c *control) handle(ctx context.Context, msg []byte) {
	if len(msg) > c.s.cfg.MaxMessageBytes {
		c.sendError("", errcode.New(errcode.SpecInvalid, "message is %d bytes, at most %d", len(msg), c.s.cfg.MaxMessageBytes))
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(msg, &fields); err != nil {
		c.sendError("", errcode.New(errcode.SpecInvalid, "malformed JSON: %v", err))
		return
	}
	var env envelope
	if err := json.Unmarshal(msg, &env); err != nil {
		c.sendError("", fieldErr("op", "op and id must be strings"))
		return
	}
	delete(fields, "op")
	var err error
	switch env.Op {
	case "add":
		actx, cancel := context.WithTimeout(ctx, assetTimeout)
		err = c.s.addSticker(actx, env.ID, fields)
		cancel()
	case "update":
		err = c.s.updateSticker(env.ID, fields)
	case "remove":
		err = c.s.removeSticker(env.ID)
	case "clear":
		c.s.clearStickers()
	case "":
		err = fieldErr("op", "is required: add, update, remove or clear")
	default:
		err = fieldErr("op", fmt.Sprintf("unknown op %q; expected add, update, remove or clear", env.Op))
	}
	if err != nil {
		c.sendError(env.ID, err)
		return
	}
	c.send(reply{Op: "ack", ID: env.ID})
}

func (c *control) sendError(id string, err error) {
	r := reply{Op: "error", ID: id, Code: errcode.Of(err), Message: err.Error()}
	var ce *errcode.Error
	if errors.As(err, &ce) {
		r.Message = ce.Message
		if len(ce.Fields) > 0 {
			r.Field, r.Errors = ce.Fields[0].Field, ce.Fields
		}
	}
	if r.Code == errcode.Internal {
		r.Message = "internal error"
	}
	c.send(r)
}

func (c *control) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	c.sendM.Lock()
	defer c.sendM.Unlock()
	if c.dc.ReadyState() == webrtc.DataChannelStateOpen {
		_ = c.dc.SendText(string(b))
	}
}
