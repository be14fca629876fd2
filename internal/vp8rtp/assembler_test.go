package vp8rtp

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// stream packetizes n frames of size bytes each; frame 0 is a keyframe.
func stream(t *testing.T, n, size int) (frames [][]byte, pkts []*rtp.Packet) {
	t.Helper()
	pz := rtp.NewPacketizer(400, 96, 1234, &codecs.VP8Payloader{}, rtp.NewFixedSequencer(65500), 90000)
	for i := range n {
		f := bytes.Repeat([]byte{byte(i + 1)}, size)
		f[0] = 0x01 // interframe tag
		if i == 0 {
			f[0] = 0x00
		}
		frames = append(frames, f)
		pkts = append(pkts, pz.Packetize(f, 3000)...) // wraps the sequence number
	}
	return frames, pkts
}

func TestAssembler_Frames(t *testing.T) {
	const wait = 50 * time.Millisecond
	frames, pkts := stream(t, 4, 1000) // 3 packets a frame
	if len(pkts) != 12 {
		t.Fatalf("%d packets", len(pkts))
	}
	tests := []struct {
		name  string
		order []int                 // packet indexes in arrival order
		delay map[int]time.Duration // arrival offsets per position
		want  []int                 // frames emitted
		lost  []int                 // frames flagged Lost
	}{
		{"in order", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, nil, []int{0, 1, 2, 3}, nil},
		{"reordered inside a frame", []int{0, 2, 1, 3, 5, 4, 6, 7, 8, 9, 11, 10}, nil, []int{0, 1, 2, 3}, nil},
		{"duplicates", []int{0, 0, 1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 11}, nil, []int{0, 1, 2, 3}, nil},
		{"retransmission within the wait", []int{0, 1, 2, 3, 5, 6, 7, 8, 4, 9, 10, 11}, nil, []int{0, 1, 2, 3}, nil},
		{"lost packet is skipped after the wait", []int{0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11},
			map[int]time.Duration{9: wait}, []int{0, 2, 3}, []int{2}},
		{"late packet after the skip is ignored", []int{0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 4},
			map[int]time.Duration{9: wait}, []int{0, 2, 3}, []int{2}},
		{"joined mid-frame", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, nil, []int{1, 2, 3}, []int{1}},
		{"lost last packet of a frame", []int{0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11},
			map[int]time.Duration{5: wait}, []int{1, 2, 3}, []int{1}},
		{"marker bit missing", []int{0, 1, -2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, nil, []int{1, 2, 3}, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := New(wait)
			now := time.Unix(0, 0)
			var got, lost []int
			for pos, i := range tc.order {
				now = now.Add(tc.delay[pos] + time.Millisecond)
				p := *pkts[abs(i)]
				if i < 0 {
					p.Marker = false
				}
				a.Push(&p, now, func(f Frame) {
					idx := slices.IndexFunc(frames, func(b []byte) bool { return bytes.Equal(b, f.Data) })
					if idx < 0 {
						t.Fatalf("emitted a frame that was never sent (%d bytes)", len(f.Data))
					}
					if f.Keyframe != (idx == 0) {
						t.Errorf("frame %d: Keyframe = %v", idx, f.Keyframe)
					}
					got = append(got, idx)
					if f.Lost {
						lost = append(lost, idx)
					}
				})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("emitted %v, want %v", got, tc.want)
			}
			if !slices.Equal(lost, tc.lost) {
				t.Errorf("lost flags on %v, want %v", lost, tc.lost)
			}
		})
	}
}

func TestAssembler_FarJumpResets(t *testing.T) {
	_, pkts := stream(t, 2, 100)
	a := New(time.Millisecond)
	n := 0
	emit := func(Frame) { n++ }
	p := *pkts[0]
	a.Push(&p, time.Now(), emit)
	q := *pkts[1]
	q.SequenceNumber += 2000
	a.Push(&q, time.Now(), emit)
	if n != 2 {
		t.Fatalf("%d frames, want 2", n)
	}
}

func abs(i int) int { return max(i, -i) }
