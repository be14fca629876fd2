package edge

import (
	"fmt"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/internal/vpx"
)

// processLoop composites and encodes decoded frames as they come, one at a
// time; it owns the encoder.
func (s *session) processLoop() {
	p := &processor{s: s}
	defer p.close()
	for {
		d, ok := s.box.take(s.ctx)
		if !ok {
			return
		}
		p.process(d)
		s.box.put(d)
	}
}

// processor is the media goroutine's state.
type processor struct {
	s       *session
	enc     *vpx.Encoder
	kbps    int64
	lastTS  uint32
	lastPTS int64
	sent    bool
}

func (p *processor) close() {
	if p.enc != nil {
		_ = p.enc.Close()
	}
}

func (p *processor) process(d *decoded) {
	s := p.s
	start := time.Now()
	if start.Sub(d.arrived) > s.cfg.FrameDeadline {
		s.dropped() // too stale to be worth sending
		return
	}
	if err := p.ensureEncoder(d.img.Width, d.img.Height); err != nil {
		s.mediaError("the encoder failed: %v", err)
		return
	}
	s.drawStickers(&d.img, start)
	composited := time.Now()

	pts := max(d.arrived.Sub(s.started).Milliseconds(), p.lastPTS+1)
	dur := max(1, pts-p.lastPTS)
	if !p.sent {
		dur = 33
	}
	force := s.forceKey.Swap(false) || !p.sent
	frame, key, err := p.enc.Encode(&d.img, pts, int(dur), force)
	if err != nil {
		s.mediaError("the encoder failed: %v", err)
		return
	}
	encoded := time.Now()
	sampleDur := 33 * time.Millisecond
	if p.sent {
		sampleDur = time.Duration(d.ts-p.lastTS) * time.Second / 90000
		if sampleDur <= 0 || sampleDur > time.Second {
			sampleDur = 33 * time.Millisecond
		}
	}
	if len(frame) > 0 {
		if err := s.out.WriteSample(media.Sample{Data: frame, Duration: sampleDur}); err != nil {
			return
		}
	}
	p.lastTS, p.lastPTS, p.sent = d.ts, pts, true
	done := time.Now()
	total := done.Sub(d.arrived)
	s.stats.record(total)
	metrics.RTCFrames.Inc()
	metrics.RTCFrameLatency.Observe(total.Seconds())
	if s.edge.deps.FrameObserver != nil {
		s.edge.deps.FrameObserver(FrameTiming{Session: s.id, Width: d.img.Width, Height: d.img.Height,
			Decode: d.decode, Wait: start.Sub(d.ready), Composite: composited.Sub(start),
			Encode: encoded.Sub(composited), Send: done.Sub(encoded), Total: total, Keyframe: key, Bytes: len(frame), BitrateKbps: int(p.kbps)})
	}
}

// ensureEncoder opens the encoder for w×h (again when the client's size
// changes) and applies the congestion controller's target bitrate.
func (p *processor) ensureEncoder(w, h int) error {
	s := p.s
	target := s.targetKbps.Load()
	if p.enc != nil {
		if ew, eh := p.enc.Size(); ew != w || eh != h {
			_ = p.enc.Close()
			p.enc, p.sent = nil, false
		}
	}
	if p.enc == nil {
		// One thread: an edge runs many sessions in parallel, and libvpx's
		// threads spin-wait on each other, which stalls for whole scheduler
		// slices when the cores are shared.
		enc, err := vpx.NewEncoder(vpx.EncoderConfig{Width: w, Height: h, BitrateKbps: int(target),
			Threads: 1, CPUUsed: s.cfg.EncoderCPUUsed})
		if err != nil {
			return err
		}
		p.enc, p.kbps = enc, target
		return nil
	}
	if target != p.kbps {
		if err := p.enc.SetBitrate(int(target)); err != nil {
			return err
		}
		p.kbps = target
	}
	return nil
}

// dropped counts a frame the edge had no time for.
func (s *session) dropped() {
	s.stats.drop()
	metrics.RTCFramesDropped.Inc()
}

// mediaError tells the client once that its media cannot be processed.
func (s *session) mediaError(format string, args ...any) {
	if s.mediaFailed.Swap(true) {
		return
	}
	msg := fmt.Sprintf(format, args...)
	s.log.Warn("media failed", "err", msg)
	merr := errcode.New(errcode.RTCMediaFailed, "%s", msg)
	s.edge.report(merr, s.id, s.tenant)
	if c := s.control(); c != nil {
		c.sendError("", merr)
	}
}
