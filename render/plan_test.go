package render

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/render/media"
)

// synthIndex builds the packet index of an n-frame 30 fps H.264 stream
// (time base 1/15360, 512 ticks a frame) with a keyframe every gop
// frames, coded as x264 codes: each keyframe, then P-frames each followed
// by the two B-frames shown before it, decode times two frames behind.
// At the keyframes in open, the GOP is open: the two frames shown just
// before the keyframe are decoded after it. The keyframes in nonIDR are I
// pictures that are not IDR.
func synthIndex(n, gop int, open, nonIDR []int) *media.PacketIndex {
	var order []int // frame numbers in decode order
	for k := 0; k < n; k += gop {
		end := min(k+gop, n)
		var g []int
		g = append(g, k)
		i := k + 1
		for ; i+2 < end; i += 3 {
			g = append(g, i+2, i, i+1)
		}
		for ; i < end; i++ {
			g = append(g, i)
		}
		if slices.Contains(open, k) && len(order) >= 2 {
			// The last two frames of the previous GOP move after this keyframe.
			prev := order[len(order)-2:]
			moved := append([]int(nil), prev...)
			order = order[:len(order)-2]
			g = append([]int{g[0]}, append(moved, g[1:]...)...)
		}
		order = append(order, g...)
	}
	idx := &media.PacketIndex{Container: "mov,mp4,m4a,3gp,3g2,mj2", Codec: "h264", Profile: "High", Level: 30,
		PixFmt: "yuv420p", TBNum: 1, TBDen: 15360, HasBFrames: 2}
	for d, f := range order {
		key := f%gop == 0
		pk := media.Packet{PTS: int64(f) * 512, DTS: int64(d)*512 - 1024, Duration: 512, Size: 1000, Pos: -1, Key: key}
		if key {
			pk.IDRKnown, pk.IDR = true, !slices.Contains(nonIDR, f)
		}
		if key && f == 0 {
			pk.Size = 5000
		}
		idx.Packets = append(idx.Packets, pk)
	}
	return idx
}

// planOf runs the planner's cutting on a synthetic index.
func planOf(idx *media.PacketIndex, ws []window, opt PlanOptions) *Plan {
	tl := videoTimeline(idx)
	vp, why := videoParams(idx, tl)
	pl := &Plan{Mode: ModeFull, Segments: 1, Workers: 1, EncodedSeconds: tl.end}
	cutTimeline(pl, tl, ws, opt, vp, why, "", false)
	return pl
}

func runsOf(pl *Plan) string {
	var b strings.Builder
	for _, r := range pl.runs() {
		kind := "copy"
		if r.part >= 0 {
			kind = "enc"
		}
		fmt.Fprintf(&b, "%s %d-%d ", kind, r.first, r.first+r.frames)
	}
	return strings.TrimSpace(b.String())
}

func TestPlan_Cuts(t *testing.T) {
	w := func(a, b float64) window { return window{a, b} }
	tests := []struct {
		name    string
		idx     *media.PacketIndex
		windows []window
		opt     PlanOptions
		mode    string
		runs    string // "copy a-b enc c-d …" in frames
		reason  string // a substring of the plan's reason
	}{
		{"sticker in the middle", synthIndex(300, 60, nil, nil), []window{w(4.5, 5.5)}, PlanOptions{},
			ModeSmart, "copy 0-120 enc 120-180 copy 180-300", ""},
		{"sticker at the start", synthIndex(300, 60, nil, nil), []window{w(0, 1)}, PlanOptions{},
			ModeSmart, "enc 0-60 copy 60-300", ""},
		{"sticker at the end", synthIndex(300, 60, nil, nil), []window{w(9.5, 10)}, PlanOptions{},
			ModeSmart, "copy 0-240 enc 240-300", ""},
		{"sticker to past the end", synthIndex(300, 60, nil, nil), []window{w(9.5, 99)}, PlanOptions{},
			ModeSmart, "copy 0-240 enc 240-300", ""},
		{"ends on a keyframe: that GOP is copied", synthIndex(300, 60, nil, nil), []window{w(2.5, 4)}, PlanOptions{},
			ModeSmart, "copy 0-60 enc 60-120 copy 120-300", ""},
		{"ends a frame after a keyframe", synthIndex(300, 60, nil, nil), []window{w(2.5, 4.01)}, PlanOptions{},
			ModeSmart, "copy 0-60 enc 60-180 copy 180-300", ""},
		{"overlapping stickers merge", synthIndex(300, 60, nil, nil), []window{w(2.5, 3), w(2.8, 4.5)}, PlanOptions{},
			ModeSmart, "copy 0-60 enc 60-180 copy 180-300", ""},
		{"touching runs merge", synthIndex(300, 60, nil, nil), []window{w(2.5, 3), w(4.5, 5)}, PlanOptions{},
			ModeSmart, "copy 0-60 enc 60-180 copy 180-300", ""},
		{"two runs", synthIndex(300, 60, nil, nil), []window{w(0.5, 1), w(6.5, 7)}, PlanOptions{},
			ModeSmart, "enc 0-60 copy 60-180 enc 180-240 copy 240-300", ""},
		{"a window with no frame in it", synthIndex(300, 60, nil, nil), []window{w(1.01, 1.02)}, PlanOptions{},
			ModeSmart, "copy 0-300", ""},
		{"open GOP widens the run", synthIndex(300, 60, []int{120}, nil), []window{w(4.5, 5.5)}, PlanOptions{},
			ModeSmart, "copy 0-60 enc 60-180 copy 180-300", ""},
		{"open GOP after the run widens it", synthIndex(300, 60, []int{180}, nil), []window{w(4.5, 5.5)}, PlanOptions{},
			ModeSmart, "copy 0-120 enc 120-240 copy 240-300", ""},
		{"non-IDR keyframe widens the run", synthIndex(300, 60, nil, []int{120}), []window{w(4.5, 5.5)}, PlanOptions{},
			ModeSmart, "copy 0-60 enc 60-180 copy 180-300", ""},
		{"whole timeline", synthIndex(300, 60, nil, nil), []window{w(0, 10)}, PlanOptions{},
			ModeFull, "", "stickers cover 100% of the timeline"},
		{"over 80%", synthIndex(300, 30, nil, nil), []window{w(0, 8.5)}, PlanOptions{},
			ModeFull, "", "stickers cover 90% of the timeline"},
		{"80% exactly is still smart", synthIndex(300, 60, nil, nil), []window{w(0, 8)}, PlanOptions{},
			ModeSmart, "enc 0-240 copy 240-300", ""},
		{"every GOP open: nothing to cut", synthIndex(300, 60, []int{60, 120, 180, 240}, nil), []window{w(4.5, 5.5)}, PlanOptions{},
			ModeFull, "", "stickers cover 100%"},

		// Splitting.
		{"short run on many workers stays whole", synthIndex(900, 60, nil, nil), []window{w(4.5, 5.5)}, PlanOptions{Workers: 4},
			ModeSmart, "copy 0-120 enc 120-180 copy 180-900", "not split: 2.0 s of encoding is under the 20 s split threshold"},
		{"long run split at keyframes", synthIndex(1800, 60, nil, nil), []window{w(2.5, 44)}, PlanOptions{Workers: 4},
			ModeSmart, "copy 0-60 enc 60-360 enc 360-660 enc 660-1020 enc 1020-1320 copy 1320-1800", ""},
		{"full encode split in equal parts", synthIndex(1800, 60, nil, nil), []window{w(0, 60)}, PlanOptions{Workers: 3},
			ModeSplit, "enc 0-600 enc 600-1200 enc 1200-1800", "stickers cover 100%"},
		{"parts at least half the threshold long", synthIndex(1800, 60, nil, nil), []window{w(0, 60)}, PlanOptions{Workers: 16},
			ModeSplit, "enc 0-300 enc 300-600 enc 600-900 enc 900-1200 enc 1200-1500 enc 1500-1800", "stickers cover 100%"},
		{"split skips open GOPs", synthIndex(1800, 60, []int{600}, nil), []window{w(0, 60)}, PlanOptions{Workers: 3},
			ModeSplit, "enc 0-540 enc 540-1200 enc 1200-1800", "stickers cover 100%"},
		{"no closed GOP to split at", synthIndex(1800, 1800, nil, nil), []window{w(0, 60)}, PlanOptions{Workers: 3},
			ModeFull, "", "not split: the source has no keyframe starting a closed GOP"},
		{"one worker never splits", synthIndex(1800, 60, nil, nil), []window{w(0, 60)}, PlanOptions{Workers: 1},
			ModeFull, "", "stickers cover 100%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := planOf(tt.idx, tt.windows, tt.opt)
			if pl.Mode != tt.mode {
				t.Fatalf("mode %s (%s), want %s", pl.Mode, pl.Reason, tt.mode)
			}
			if got := runsOf(pl); tt.runs != "" && got != tt.runs {
				t.Errorf("runs %q, want %q", got, tt.runs)
			}
			if !strings.Contains(pl.Reason, tt.reason) || tt.reason == "" && pl.Reason != "" {
				t.Errorf("reason %q, want it to say %q", pl.Reason, tt.reason)
			}
			if pl.Mode == ModeFull {
				return
			}
			// The parts and copies tile the timeline, and the totals add up.
			var enc, cp, weight float64
			for i, pt := range pl.Parts {
				enc += pt.End - pt.Start
				weight += pt.Weight
				if pt.Index != i || pt.Frames <= 0 || pt.FirstFrame > 0 && pt.SeekUS < 0 {
					t.Errorf("part %+v", pt)
				}
			}
			for _, c := range pl.Copies {
				cp += c.End - c.Start
			}
			if len(pl.Parts) > 0 && (weight < 0.999 || weight > 1.001) {
				t.Errorf("weights add up to %g", weight)
			}
			if diff := enc - pl.EncodedSeconds; diff > 1e-9 || diff < -1e-9 || pl.Segments != len(pl.Parts) {
				t.Errorf("encoded %g s over %d parts, the plan says %g s and %d", enc, len(pl.Parts), pl.EncodedSeconds, pl.Segments)
			}
			if diff := cp - pl.CopiedSeconds; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("copied %g s, the plan says %g", cp, pl.CopiedSeconds)
			}
		})
	}
}

// TestPlan_Details checks what a smart plan carries for the workers: the
// seek points, the bitrate of the replaced GOPs, the encoder's reordering
// and the decode delay, and that it survives a JSON round trip unchanged.
func TestPlan_Details(t *testing.T) {
	pl := planOf(synthIndex(300, 60, nil, nil), []window{{4.5, 5.5}}, PlanOptions{})
	pt := pl.Parts[0]
	if pt.SeekUS != 4_000_000 || pt.Start != 4 || pt.End != 6 {
		t.Errorf("part %+v, want it to start (and seek) at 4 s and end at 6", pt)
	}
	if pt.Bitrate != 60*1000*8/2 {
		t.Errorf("bitrate %d, want the replaced GOP's 240000", pt.Bitrate)
	}
	if v := pl.Video; v == nil || v.Delay90k != 6000 || v.BFrames != -1 || v.TimeBase != "1/15360" || v.Profile != "high" {
		t.Errorf("video params %+v", pl.Video)
	}
	b, err := json.Marshal(pl)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Errorf("the plan changes in a JSON round trip:\n%s\n%s", b, b2)
	}

	// A source without B-frames gets an encoder without them.
	idx := synthIndex(300, 60, nil, nil)
	for i := range idx.Packets {
		idx.Packets[i].DTS = idx.Packets[i].PTS
	}
	slices.SortFunc(idx.Packets, func(a, b media.Packet) int { return int(a.PTS - b.PTS) })
	if vp, why := videoParams(idx, videoTimeline(idx)); why != "" || vp.BFrames != 0 || vp.Delay90k != 0 {
		t.Errorf("no B-frames: %+v %q", vp, why)
	}
}

// TestPlan_IndexRefusals: what in the packet index alone makes copying
// inexact.
func TestPlan_IndexRefusals(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*media.PacketIndex)
		reason string
	}{
		{"High 10", func(x *media.PacketIndex) { x.Profile = "High 10" }, `profile "High 10"`},
		{"4:2:2", func(x *media.PacketIndex) { x.PixFmt = "yuv422p" }, "pixel format yuv422p"},
		{"a time base off the 90 kHz clock", func(x *media.PacketIndex) {
			x.TBDen = 44100
			for i := range x.Packets {
				x.Packets[i].PTS, x.Packets[i].DTS = x.Packets[i].PTS+1, x.Packets[i].DTS+1
			}
		}, "90 kHz"},
		{"no keyframe first", func(x *media.PacketIndex) { x.Packets[0].Key = false }, "does not start with a keyframe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := synthIndex(300, 60, nil, nil)
			tt.edit(idx)
			pl := planOf(idx, []window{{4.5, 5.5}}, PlanOptions{})
			if pl.Mode != ModeFull || !strings.Contains(pl.Reason, tt.reason) {
				t.Errorf("mode %s, reason %q; want full saying %q", pl.Mode, pl.Reason, tt.reason)
			}
		})
	}
}

// TestSmartArgs_GuardEveryInput: every ffmpeg the smart and split paths
// start confines each input to the file protocol and a demuxer
// whitelist, and names it as a file, as a whole render's does.
func TestSmartArgs_GuardEveryInput(t *testing.T) {
	pl := planOf(synthIndex(300, 60, nil, nil), []window{{4.5, 5.5}}, PlanOptions{})
	pl.Audio = "copy"
	p := &plan{sourcePath: "/in/http:src.mp4", source: media.Info{Kind: media.KindVideo, Width: 320, Height: 240, FPS: 30, Duration: 10},
		width: 320, height: 240, fps: 30, duration: 10, format: "mp4", quality: "standard", workDir: t.TempDir(),
		window: &partWindow{part: pl.Parts[0], video: pl.Video}}
	part, err := compile(p, rateSettings{}, "/out/part.ts")
	if err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"part":   part,
		"cut":    cutArgs(p.sourcePath, "/w/seg%05d.ts", pl.runs()),
		"shift":  shiftArgs("/w/a.ts", "/w/b.ts", 3000),
		"mux":    muxArgs(p, pl, "/w/joined.ts", "/out/o.mp4"),
		"decode": decodeArgs("/out/o.mp4", 1, 2, 1),
	} {
		inputs := 0
		for i, a := range args {
			if a != "-i" {
				continue
			}
			inputs++
			in := args[i+1]
			if !strings.HasPrefix(in, "file:/") {
				t.Errorf("%s: input %q is not named as a file", name, in)
			}
			before := strings.Join(args[:i], " ")
			for _, guard := range []string{"-protocol_whitelist file", "-format_whitelist "} {
				if last := strings.LastIndex(before, guard); last < 0 || strings.Contains(before[last:], " -i ") {
					t.Errorf("%s: input %q has no %s before it", name, in, guard)
				}
			}
		}
		if inputs == 0 {
			t.Errorf("%s: no input in %q", name, args)
		}
	}
	if !slices.Contains(part, "-copyts") || !slices.Contains(part, "4.000000") {
		t.Errorf("a part seeks to its keyframe with the source's timestamps kept: %q", part)
	}
}
