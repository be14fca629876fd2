package vp8rtp

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// ringSize is how many packets the assembler holds; a gap wider than this
// resets it.
const ringSize = 512

// Frame is one complete VP8 frame.
type Frame struct {
	// Data is the VP8 frame (payload descriptors removed). It is reused by
	// the next Push: copy it to keep it.
	Data []byte
	// Timestamp is the RTP timestamp (90 kHz).
	Timestamp uint32
	// Keyframe reports a VP8 keyframe.
	Keyframe bool
	// Lost reports that packets or frames before this one were skipped, so
	// a decoder's references may be broken until the next keyframe.
	Lost bool
	// Arrived is when the first packet of the frame arrived.
	Arrived time.Time
}

type slot struct {
	present bool
	seq     uint16
	ts      uint32
	marker  bool
	start   bool // first packet of a frame: S=1 and PID=0
	arrived time.Time
	payload []byte
}

// Assembler turns RTP packets into frames. It is not safe for concurrent use.
type Assembler struct {
	maxWait time.Duration
	ring    [ringSize]slot
	head    uint16 // oldest sequence number not yet consumed
	started bool
	lost    bool
	depack  codecs.VP8Packet
	out     []byte
}

// New returns an assembler that waits at most maxWait for a missing packet
// (a NACK retransmission) before skipping past it.
func New(maxWait time.Duration) *Assembler { return &Assembler{maxWait: maxWait} }

// Push adds a packet and calls emit for every frame it completes, in order.
func (a *Assembler) Push(p *rtp.Packet, now time.Time, emit func(Frame)) {
	if len(p.Payload) == 0 {
		return // padding
	}
	seq := p.SequenceNumber
	if !a.started {
		a.started, a.head = true, seq
	}
	d := int16(seq - a.head)
	if d < 0 {
		return // late or duplicate: its frame is already out or skipped
	}
	if int(d) >= ringSize {
		a.reset(seq)
	}
	s := &a.ring[seq%ringSize]
	if s.present && s.seq == seq {
		return // duplicate
	}
	b := p.Payload[0]
	s.present, s.seq, s.ts, s.marker, s.arrived = true, seq, p.Timestamp, p.Marker, now
	s.start = b&0x10 != 0 && b&0x07 == 0
	s.payload = append(s.payload[:0], p.Payload...)
	a.drain(now, emit)
}

// reset drops everything buffered and restarts at seq.
func (a *Assembler) reset(seq uint16) {
	for i := range a.ring {
		a.ring[i].present = false
	}
	a.head, a.lost = seq, true
}

func (a *Assembler) at(seq uint16) *slot {
	s := &a.ring[seq%ringSize]
	if !s.present || s.seq != seq {
		return nil
	}
	return s
}

// consume frees the slots from head up to (not including) end.
func (a *Assembler) consume(end uint16, dropped bool) {
	for ; a.head != end; a.head++ {
		if s := a.at(a.head); s != nil {
			s.present = false
		}
	}
	if dropped {
		a.lost = true
	}
}

func (a *Assembler) drain(now time.Time, emit func(Frame)) {
	for {
		h := a.at(a.head)
		switch {
		case h == nil:
			if !a.skipGap(now) {
				return
			}
			continue
		case !h.start:
			a.consume(a.head+1, true) // the middle of a frame whose start we missed
			continue
		}
		end, state := a.frameEnd(h)
		switch state {
		case broken:
			continue
		case incomplete:
			if !a.skipGap(now) {
				return
			}
			continue
		}
		a.emit(a.head, end, emit)
	}
}

// States of the frame at the head.
const (
	complete = iota
	incomplete
	broken
)

// frameEnd finds the packet after the last one of the frame starting at
// head. A frame cut short by the next frame's packets (its marker lost) is
// dropped and reported broken.
func (a *Assembler) frameEnd(h *slot) (end uint16, state int) {
	for seq := a.head; int16(seq-a.head) < ringSize-1; seq++ {
		s := a.at(seq)
		if s == nil {
			return 0, incomplete
		}
		if s.ts != h.ts {
			a.consume(seq, true)
			return 0, broken
		}
		if s.marker {
			return seq + 1, complete
		}
	}
	return 0, incomplete
}

// skipGap skips from head to the next frame start once the packet missing
// at or after head has been waited for long enough. It reports progress.
func (a *Assembler) skipGap(now time.Time) bool {
	var oldest time.Time
	for seq := a.head + 1; int16(seq-a.head) < ringSize; seq++ {
		s := a.at(seq)
		if s == nil {
			continue
		}
		if oldest.IsZero() || s.arrived.Before(oldest) {
			oldest = s.arrived
		}
		// A later frame's start: skip to it once the gap is old enough.
		if s.start && (a.at(a.head) == nil || a.at(a.head).ts != s.ts) {
			if now.Sub(oldest) < a.maxWait {
				return false
			}
			a.consume(seq, true)
			return true
		}
	}
	return false
}

func (a *Assembler) emit(from, to uint16, emit func(Frame)) {
	a.out = a.out[:0]
	first := a.at(from)
	f := Frame{Timestamp: first.ts, Arrived: first.arrived, Lost: a.lost}
	for seq := from; seq != to; seq++ {
		payload, err := a.depack.Unmarshal(a.at(seq).payload)
		if err != nil {
			a.consume(to, true)
			return
		}
		a.out = append(a.out, payload...)
	}
	a.consume(to, false)
	a.lost = false
	f.Data = a.out
	f.Keyframe = len(f.Data) >= 3 && f.Data[0]&1 == 0
	emit(f)
}
