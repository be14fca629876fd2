package edge

import (
	"context"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/stickerd/stickerd/internal/vp8rtp"
	"github.com/stickerd/stickerd/internal/vpx"
)

// Timings of the receive path.
const (
	// nackWait is how long a missing packet is waited for (a NACK
	// retransmission) before its frame is skipped.
	nackWait = 150 * time.Millisecond
	// pliInterval spaces keyframe requests to the client.
	pliInterval = 300 * time.Millisecond
)

// decoded is a decoded frame on its way to the compositor.
type decoded struct {
	img     vpx.Image
	ts      uint32    // RTP timestamp
	arrived time.Time // the frame's last packet
	ready   time.Time // decoding finished
	decode  time.Duration
}

// mailbox hands decoded frames to the compositor, latest wins: a frame
// that arrives while the previous one still waits replaces it, and the
// replaced one counts as dropped. Three buffers cycle (decoding, waiting,
// compositing), so nothing is allocated per frame.
type mailbox struct {
	mu      sync.Mutex
	free    []*decoded
	pending *decoded
	signal  chan struct{}
}

func newMailbox() *mailbox {
	return &mailbox{free: []*decoded{{}, {}, {}}, signal: make(chan struct{}, 1)}
}

// get returns a buffer to decode into.
func (m *mailbox) get() *decoded {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.free); n > 0 {
		d := m.free[n-1]
		m.free = m.free[:n-1]
		return d
	}
	return &decoded{} // only if a buffer leaked; never in steady state
}

// put returns a buffer that was not offered.
func (m *mailbox) put(d *decoded) {
	m.mu.Lock()
	m.free = append(m.free, d)
	m.mu.Unlock()
}

// offer posts d and reports whether it replaced a frame still waiting.
func (m *mailbox) offer(d *decoded) (dropped bool) {
	m.mu.Lock()
	if m.pending != nil {
		m.free = append(m.free, m.pending)
		dropped = true
	}
	m.pending = d
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
	return dropped
}

// take waits for the next frame; false when ctx ends.
func (m *mailbox) take(ctx context.Context) (*decoded, bool) {
	for {
		m.mu.Lock()
		d := m.pending
		m.pending = nil
		m.mu.Unlock()
		if d != nil {
			return d, true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-m.signal:
		}
	}
}

// readLoop receives the client's video: RTP → frames → decoded images.
func (s *session) readLoop(t *webrtc.TrackRemote) {
	dec, err := vpx.NewDecoder(1)
	if err != nil {
		s.log.Error("decoder unavailable", "err", err)
		s.close(err)
		return
	}
	defer dec.Close()
	asm := vp8rtp.New(nackWait)
	var lastPLI time.Time
	needKey := true
	pli := func(now time.Time) {
		if now.Sub(lastPLI) >= pliInterval {
			lastPLI = now
			_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
		}
	}
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return // the peer connection closed
		}
		now := time.Now()
		s.lastMedia.Store(now.UnixNano())
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		asm.Push(&pkt, now, func(f vp8rtp.Frame) {
			if f.Lost {
				needKey = true
			}
			if needKey && !f.Keyframe {
				pli(now)
				return
			}
			if w, h, ok := vpx.KeyframeSize(f.Data); ok && (w > s.cfg.MaxFrameWidth || h > s.cfg.MaxFrameHeight) {
				s.mediaError("the video is %dx%d, at most %dx%d", w, h, s.cfg.MaxFrameWidth, s.cfg.MaxFrameHeight)
				needKey = true
				return
			}
			d := s.box.get()
			t0 := time.Now()
			corrupt, err := dec.Decode(f.Data, &d.img)
			if err != nil {
				s.box.put(d)
				needKey = true
				pli(now)
				return
			}
			needKey = corrupt
			if corrupt {
				pli(now)
			}
			d.ts, d.arrived, d.ready = f.Timestamp, now, time.Now()
			d.decode = d.ready.Sub(t0)
			if s.box.offer(d) {
				s.dropped()
			}
		})
	}
}

// readRTCP watches the client's feedback on our track: PLI and FIR ask
// for a keyframe. Reading also drives the NACK responder and GCC.
func (s *session) readRTCP() {
	for {
		pkts, _, err := s.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.forceKey.Store(true)
			}
		}
	}
}
