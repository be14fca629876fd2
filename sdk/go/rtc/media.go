package rtc

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/stickerd/stickerd/internal/vp8rtp"
	"github.com/stickerd/stickerd/internal/vpx"
)

// SendFrame encodes f as VP8 and sends it. Frames are timed by when they
// are sent, so call it at the frame rate you capture at.
func (s *Session) SendFrame(f *Frame) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.enc != nil {
		if w, h := s.enc.Size(); w != f.Width || h != f.Height {
			_ = s.enc.Close()
			s.enc = nil
		}
	}
	force := s.forceKey.Swap(false)
	if s.enc == nil {
		enc, err := vpx.NewEncoder(vpx.EncoderConfig{Width: f.Width, Height: f.Height, BitrateKbps: s.opts.BitrateKbps,
			Threads: 1, CPUUsed: 10})
		if err != nil {
			return fmt.Errorf("rtc: %w", err)
		}
		s.enc, s.lastSend, force = enc, time.Time{}, true
	}
	now := time.Now()
	dur := time.Second / time.Duration(s.opts.FPS)
	if !s.lastSend.IsZero() {
		dur = min(max(now.Sub(s.lastSend), time.Millisecond), time.Second)
	}
	s.lastSend = now
	data, _, err := s.enc.Encode(f.image(), now.UnixMilli(), int(dur.Milliseconds()), force)
	if err != nil {
		return fmt.Errorf("rtc: %w", err)
	}
	if len(data) == 0 {
		return nil
	}
	if err := s.track.WriteSample(media.Sample{Data: data, Duration: dur}); err != nil {
		return fmt.Errorf("rtc: %w", err)
	}
	return nil
}

// readRTCP reads the edge's feedback on our track: PLI and FIR ask for a
// keyframe; reading also drives the NACK responder.
func (s *Session) readRTCP() {
	for {
		pkts, _, err := s.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.forceKey.Store(true)
				s.keyRequested.Store(true)
			}
		}
	}
}

func (s *Session) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	s.recvMu.Lock()
	s.recvSSRC = uint32(t.SSRC())
	s.recvMu.Unlock()
	if s.cb.OnTrack != nil {
		s.cb.OnTrack(t)
	}
	if s.cb.OnFrame != nil && strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeVP8) {
		s.goFunc(func() { s.receive(t) })
	}
}

// receive decodes the stickered video and hands it to OnFrame.
func (s *Session) receive(t *webrtc.TrackRemote) {
	dec, err := vpx.NewDecoder(1)
	if err != nil {
		s.unprompted("RTC_MEDIA_FAILED", err.Error())
		return
	}
	defer dec.Close()
	asm := vp8rtp.New(150 * time.Millisecond)
	var lastPLI time.Time
	needKey := true
	pli := func(now time.Time) {
		if now.Sub(lastPLI) >= 300*time.Millisecond {
			lastPLI = now
			_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
		}
	}
	img := &vpx.Image{}
	frame := &Frame{}
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
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
			corrupt, err := dec.Decode(f.Data, img)
			if err != nil {
				needKey = true
				pli(now)
				return
			}
			if needKey = corrupt; corrupt {
				pli(now)
			}
			*frame = Frame{Width: img.Width, Height: img.Height, Y: img.Y, U: img.U, V: img.V,
				Timestamp: f.Timestamp, Received: now}
			s.cb.OnFrame(frame)
		})
	}
}

// RequestKeyframe asks the edge for a keyframe on the incoming video (a
// PLI), for example before recording starts.
func (s *Session) RequestKeyframe() error {
	s.recvMu.Lock()
	ssrc := s.recvSSRC
	s.recvMu.Unlock()
	if ssrc == 0 {
		return errors.New("rtc: no incoming video yet")
	}
	return s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// SendEncoded sends a frame that is already VP8-encoded (from a hardware
// encoder, or prepared in advance), lasting duration. The caller answers
// keyframe requests itself (KeyframeRequested reports them).
func (s *Session) SendEncoded(frame []byte, duration time.Duration) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	if err := s.track.WriteSample(media.Sample{Data: frame, Duration: duration}); err != nil {
		return fmt.Errorf("rtc: %w", err)
	}
	return nil
}

// KeyframeRequested reports, and resets, whether the edge asked for a
// keyframe since the last call; for callers of SendEncoded.
func (s *Session) KeyframeRequested() bool { return s.keyRequested.Swap(false) }

// Frame is one I420 (YUV 4:2:0) picture with tightly packed planes: Y is
// Width×Height, U and V are ChromaWidth()×ChromaHeight().
type Frame struct {
	Width, Height int
	Y, U, V       []byte
	// Timestamp is the RTP timestamp (90 kHz) a received frame carried;
	// SendFrame ignores it.
	Timestamp uint32
	// Received is when a received frame's last packet arrived.
	Received time.Time
}

// NewFrame allocates a w×h frame.
func NewFrame(w, h int) *Frame {
	im := vpx.NewImage(w, h)
	return &Frame{Width: w, Height: h, Y: im.Y, U: im.U, V: im.V}
}

// ChromaWidth is the width of the U and V planes.
func (f *Frame) ChromaWidth() int { return (f.Width + 1) / 2 }

// ChromaHeight is the height of the U and V planes.
func (f *Frame) ChromaHeight() int { return (f.Height + 1) / 2 }

// Clone returns a deep copy; OnFrame's frame is reused after the callback
// returns, so keep a clone.
func (f *Frame) Clone() *Frame {
	c := *f
	c.Y = append([]byte(nil), f.Y...)
	c.U = append([]byte(nil), f.U...)
	c.V = append([]byte(nil), f.V...)
	return &c
}

// At returns the Y, U and V values of the pixel at (x, y).
func (f *Frame) At(x, y int) (Y, U, V byte) {
	ci := (y/2)*f.ChromaWidth() + x/2
	return f.Y[y*f.Width+x], f.U[ci], f.V[ci]
}

func (f *Frame) image() *vpx.Image {
	return &vpx.Image{Width: f.Width, Height: f.Height, Y: f.Y, U: f.U, V: f.V}
}
