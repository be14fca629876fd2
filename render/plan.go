package render

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/spec"
)

// Plan modes.
const (
	ModeFull  = "full"  // one ffmpeg decodes and encodes the whole timeline
	ModeSmart = "smart" // stretches without stickers are copied; the rest is encoded in parts
	ModeSplit = "split" // the whole timeline is encoded, in several parts
)

// DefaultSplitMinSeconds is PlanOptions.SplitMinSeconds's default.
const DefaultSplitMinSeconds = 20

// smartMaxEncodedShare is the share of the timeline above which a smart
// render saves too little to be worth its seams.
const smartMaxEncodedShare = 0.8

// PlanOptions say how a job may be divided.
type PlanOptions struct {
	// Workers is how many workers parts may go to; <= 1: no split.
	Workers int `json:"workers,omitempty"`
	// SplitMinSeconds is the encoding work (seconds of video) above which
	// a run is split across workers (0: DefaultSplitMinSeconds). Each
	// part is at least about half of it long.
	SplitMinSeconds float64 `json:"split_min_seconds,omitempty"`
}

// Plan says how a job is rendered: whole, or as encoded parts joined with
// the source's untouched stretches. It is self-contained and
// deterministic (the same job and source give the same JSON), so it can
// travel in a job record and to other workers: RenderPart and Stitch need
// nothing else but the job.
type Plan struct {
	Mode           string  `json:"mode"`
	Segments       int     `json:"segments"` // encoded parts
	EncodedSeconds float64 `json:"encoded_seconds"`
	CopiedSeconds  float64 `json:"copied_seconds"`
	Workers        int     `json:"workers"` // parts that can run at once
	// Reason says, in words a user understands, why the render is not
	// smart and why it is not split, where either was possible to ask.
	Reason string `json:"reason,omitempty"`
	// Parts are the encoded parts in timeline order; each is one task.
	Parts []Part `json:"parts,omitempty"`
	// Copies are the source's stretches copied packet for packet.
	Copies []Copy `json:"copies,omitempty"`

	Source   SourceFingerprint `json:"source"`
	Frames   int               `json:"frames,omitempty"` // frames of the output video
	FPS      float64           `json:"fps"`
	Duration float64           `json:"duration"`
	// Timescale is the output video track's timescale (ticks a second).
	Timescale int64 `json:"timescale,omitempty"`
	// StartUS is the source's start time (microseconds): ffmpeg renders
	// from it, and the joined output keeps the source's timestamps.
	StartUS int64 `json:"start_us,omitempty"`
	// Audio is how the joined output gets its sound: "copy" (the source's
	// AAC, untouched), "encode" (encoded once for the whole timeline) or
	// "" (none).
	Audio string `json:"audio,omitempty"`
	// Video holds the source's coding parameters that the encoded parts
	// of a smart plan reproduce; nil for a split of a full encode, whose
	// parts use the job's own output settings.
	Video *VideoParams `json:"video,omitempty"`
}

// Part is one encoded stretch: the frames [FirstFrame, FirstFrame+Frames)
// of the timeline, from Start to End (seconds on the source's timeline).
type Part struct {
	Index      int     `json:"index"`
	Start      float64 `json:"start"`
	End        float64 `json:"end"`
	FirstFrame int     `json:"first_frame"`
	Frames     int     `json:"frames"`
	Weight     float64 `json:"weight"` // share of the plan's encoding work, for progress
	// SeekUS is where ffmpeg seeks in the source (microseconds on the
	// render timeline, rounded up onto the keyframe that starts the
	// part); -1 for a part that starts the file or a canvas.
	SeekUS int64 `json:"seek_us"`
	// Bitrate (bits/s) is that of the source's packets this part
	// replaces (smart plans only): the encoded run matches it.
	Bitrate int `json:"bitrate,omitempty"`
}

// Copy is a stretch of the source copied untouched: the packets
// [FirstFrame, FirstFrame+Frames) in decode order, which are exactly the
// frames with those numbers in display order, since a copy starts and
// ends at keyframes of closed GOPs.
type Copy struct {
	Start      float64 `json:"start"`
	End        float64 `json:"end"`
	FirstFrame int     `json:"first_frame"`
	Frames     int     `json:"frames"`
}

// SourceFingerprint lets a worker refuse a source that differs from the
// one the plan was made for.
type SourceFingerprint struct {
	Bytes    int64   `json:"bytes"`
	Duration float64 `json:"duration"`
	Frames   int     `json:"frames"` // as the container says; 0 for a canvas
}

// VideoParams are a source's H.264 coding parameters, as encoder options.
type VideoParams struct {
	Codec          string `json:"codec"`
	Profile        string `json:"profile"` // libx264's name: baseline, main, high
	Level          int    `json:"level,omitempty"`
	PixFmt         string `json:"pix_fmt"`
	ColorRange     string `json:"color_range,omitempty"`
	ColorSpace     string `json:"color_space,omitempty"`
	ColorTransfer  string `json:"color_transfer,omitempty"`
	ColorPrimaries string `json:"color_primaries,omitempty"`
	SAR            string `json:"sar,omitempty"`
	TimeBase       string `json:"time_base"` // "1/15360"
	// BFrames is how many B-frames the encoder may use (0, 1, or -1 for
	// the preset's), so its reordering is no deeper than the source's.
	BFrames int `json:"b_frames"`
	// Delay90k is the source's decode-to-display delay (pts - dts at its
	// keyframes) in 90 kHz ticks; an encoded part's timestamps are shifted
	// to it so that decode times run on across the seams.
	Delay90k int64 `json:"delay_90k"`
}

// Plan decides how job would be rendered on opt.Workers workers: it
// resolves and probes the inputs (as Render does), reads the source's
// packet index and cuts the timeline into copied and encoded runs.
func (e *Engine) Plan(ctx context.Context, job Job, opt PlanOptions) (*Plan, error) {
	if job.Spec == nil {
		return nil, errors.New("render: Job needs a Spec")
	}
	work, err := os.MkdirTemp(e.cfg.WorkDir, "plan-")
	if err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "cannot create a work folder")
	}
	defer os.RemoveAll(work)
	p, err := e.prepare(ctx, job, work)
	if err != nil {
		return nil, err
	}
	return e.makePlan(ctx, job.Spec, p, opt)
}

// makePlan plans a prepared job.
func (e *Engine) makePlan(ctx context.Context, s *spec.Spec, p *plan, opt PlanOptions) (*Plan, error) {
	if p.snapshot() {
		return snapshotPlan(s, p) // one frame: nothing to copy or split
	}
	if opt.SplitMinSeconds <= 0 {
		opt.SplitMinSeconds = DefaultSplitMinSeconds
	}
	pl := &Plan{Mode: ModeFull, Segments: 1, Workers: 1, EncodedSeconds: p.duration,
		FPS: p.fps, Duration: p.duration, Audio: audioMode(p)}
	if p.canvas == nil {
		pl.Source = SourceFingerprint{Bytes: p.source.Bytes, Duration: p.source.Duration, Frames: p.source.Frames}
	}
	smartWhy := smartRefusal(s, p)
	splitWhy := ""
	if opt.Workers > 1 {
		splitWhy = splitRefusal(p)
	}
	if smartWhy != "" && (opt.Workers <= 1 || splitWhy != "") {
		pl.Reason = joinReasons(smartWhy, splitWhy)
		return pl, nil // no packet index needed
	}

	var tl *timeline
	var idx *media.PacketIndex
	if p.canvas != nil {
		tl = canvasTimeline(p)
	} else {
		var err error
		idx, err = e.prober.Packets(ctx, p.sourcePath)
		if err != nil {
			if ctx.Err() != nil {
				return nil, errcode.Wrap(errcode.Canceled, ctx.Err(), "the render was canceled")
			}
			pl.Reason = joinReasons("the source's packet index cannot be read", "")
			return pl, nil
		}
		tl = videoTimeline(idx)
	}
	pl.Frames = len(tl.times)
	pl.StartUS = tl.startUS
	pl.Timescale = outputTimescale(p)

	var vp *VideoParams
	if smartWhy == "" {
		vp, smartWhy = videoParams(idx, tl)
	}
	cutTimeline(pl, tl, windows(p), opt, vp, smartWhy, splitWhy, p.canvas != nil)
	return pl, nil
}

// cutTimeline decides the plan's mode and runs from the timeline: smart
// when vp is set (nothing else forbids it) and the stickers leave enough
// to copy, otherwise a full encode, split when there are workers for it
// and splitWhy does not forbid it. Reasons go to pl.Reason.
func cutTimeline(pl *Plan, tl *timeline, ws []window, opt PlanOptions, vp *VideoParams, smartWhy, splitWhy string, canvas bool) {
	if opt.SplitMinSeconds <= 0 {
		opt.SplitMinSeconds = DefaultSplitMinSeconds
	}
	if vp != nil && smartWhy == "" {
		runs := encodeRuns(tl, ws)
		var share float64
		for _, r := range runs {
			share += tl.span(r[0], r[1])
		}
		share /= tl.end - tl.times[0]
		if share <= smartMaxEncodedShare {
			pl.Mode, pl.Video, pl.Timescale = ModeSmart, vp, tl.timescale
			fillSmart(pl, tl, runs, opt)
			if opt.Workers > 1 && len(pl.Parts) == 1 {
				pl.Reason = joinReasons("", tooShortOrUncut(pl.EncodedSeconds, opt))
			}
			return
		}
		smartWhy = fmt.Sprintf("stickers cover %.0f%% of the timeline: copying the rest would save little", share*100)
	}

	// A full encode, split across workers where that is asked and allowed.
	if opt.Workers <= 1 {
		pl.Reason = smartWhy
		return
	}
	if splitWhy == "" {
		if cuts := splitRun(tl, 0, len(tl.times), opt); len(cuts) > 0 {
			bounds := append(append([]int{0}, cuts...), len(tl.times))
			pl.Mode = ModeSplit
			for i := 0; i+1 < len(bounds); i++ {
				pl.Parts = append(pl.Parts, tl.part(len(pl.Parts), bounds[i], bounds[i+1], canvas))
			}
			finishParts(pl, opt)
		} else {
			splitWhy = tooShortOrUncut(tl.span(0, len(tl.times)), opt)
		}
	}
	pl.Reason = joinReasons(smartWhy, splitWhy)
}

// tooShortOrUncut says why a run of seconds was not split.
func tooShortOrUncut(seconds float64, opt PlanOptions) string {
	if seconds <= opt.SplitMinSeconds {
		return fmt.Sprintf("%.1f s of encoding is under the %g s split threshold", seconds, opt.SplitMinSeconds)
	}
	return "the source has no keyframe starting a closed GOP where it could be cut"
}

// joinReasons puts why a plan is not smart and why it is not split into
// one sentence.
func joinReasons(smart, split string) string {
	switch {
	case split == "":
		return smart
	case smart == "":
		return "not split: " + split
	}
	return smart + "; not split: " + split
}

// audioMode says how a joined output gets its sound.
func audioMode(p *plan) string {
	switch {
	case !p.audio:
		return ""
	case p.source.AudioCodec == "aac" && p.format == spec.FormatMP4 && !needsDownmix(p):
		return "copy"
	}
	return "encode"
}

func needsDownmix(p *plan) bool {
	return p.source.AudioChannels > 2 || p.source.AudioChannels > 0 && !plainLayout(p.source.AudioLayout)
}

// smartRefusal says why the stickers cannot be drawn on the source's own
// frames with the rest copied, in words a user understands; "" when
// nothing forbids it (the packet index may still).
func smartRefusal(s *spec.Spec, p *plan) string {
	src := p.source
	switch {
	case s.Output.RenderMode == spec.RenderModeFull:
		return "render_mode full"
	case p.format == spec.FormatGIF || p.format == spec.FormatWebP:
		return p.format + " output is always rendered whole"
	case p.canvas != nil:
		return "the source is a blank canvas: there is nothing to copy"
	case p.format != spec.FormatMP4:
		return p.format + " output: smart rendering copies H.264 from MP4/MOV into MP4 only"
	case !isMOV(src.Container):
		return fmt.Sprintf("the source is %s: smart rendering copies from MP4/MOV only", containerName(src.Container))
	case src.Codec != "h264":
		return fmt.Sprintf("the source video is %s: smart rendering copies H.264 only", strings.ToUpper(src.Codec))
	case src.Rotation != 0:
		return fmt.Sprintf("the source is turned %d° on display, so every frame is turned upright", src.Rotation)
	case p.width != src.Width || p.height != src.Height:
		return fmt.Sprintf("the output size %dx%d differs from the source's %dx%d", p.width, p.height, src.Width, src.Height)
	case src.VariableRate:
		return "the source's frame rate varies, and the output's is constant"
	case math.Abs(p.fps-src.FPS) > 0.01:
		return fmt.Sprintf("the output frame rate %s differs from the source's %s", num(p.fps), num(math.Round(src.FPS*1000)/1000))
	case p.maxBytes > 0 && src.Bytes > p.maxBytes:
		return fmt.Sprintf("output.max_bytes %d is under the source's %d bytes: a full render meets it by rate control", p.maxBytes, src.Bytes)
	}
	return ""
}

// splitRefusal says why a full encode cannot be split into parts.
func splitRefusal(p *plan) string {
	switch {
	case p.format == spec.FormatGIF || p.format == spec.FormatWebP:
		return p.format + " output is always rendered whole"
	case p.format != spec.FormatMP4:
		return p.format + " output is rendered in one part (parts are joined as MPEG-TS, which does not carry its codec)"
	case p.maxBytes > 0:
		return "output.max_bytes is met by rate control over the whole render"
	case p.canvas == nil && (p.source.VariableRate || math.Abs(p.fps-p.source.FPS) > 0.01):
		return "the output frame rate differs from the source's, so parts could not start on the same frames"
	}
	return ""
}

func isMOV(container string) bool {
	return strings.Contains(container, "mov") || strings.Contains(container, "mp4")
}

func containerName(c string) string {
	switch {
	case strings.Contains(c, "matroska"), strings.Contains(c, "webm"):
		return "Matroska/WebM"
	case strings.Contains(c, "mpegts"):
		return "MPEG-TS"
	}
	return c
}

// videoParams reads what an encoder must reproduce from the packet index,
// or says why the source cannot be matched exactly.
func videoParams(idx *media.PacketIndex, tl *timeline) (*VideoParams, string) {
	vp := &VideoParams{Codec: idx.Codec, Level: idx.Level, PixFmt: idx.PixFmt, ColorRange: idx.ColorRange,
		ColorSpace: idx.ColorSpace, ColorTransfer: idx.ColorTransfer, ColorPrimaries: idx.ColorPrimaries,
		SAR: idx.SAR, TimeBase: fmt.Sprintf("%d/%d", idx.TBNum, idx.TBDen), BFrames: -1}
	switch idx.Profile {
	case "Baseline", "Constrained Baseline":
		vp.Profile = "baseline"
	case "Main":
		vp.Profile = "main"
	case "High":
		vp.Profile = "high"
	default:
		return nil, fmt.Sprintf("the source's H.264 profile %q cannot be matched", idx.Profile)
	}
	if vp.PixFmt != "yuv420p" && vp.PixFmt != "yuvj420p" {
		return nil, fmt.Sprintf("the source's pixel format %s cannot be matched", vp.PixFmt)
	}
	if idx.TBNum != 1 || idx.TBDen > 500_000 {
		return nil, fmt.Sprintf("the source's time base %s cannot be matched", vp.TimeBase)
	}
	if tl.why != "" {
		return nil, tl.why
	}
	first := idx.Packets[0]
	delay := first.PTS - first.DTS
	vp.Delay90k = delay * 90000 / idx.TBDen
	frame := tl.frameTicks
	switch {
	case frame <= 0:
		return nil, "the source's frame duration is unknown"
	case delay < frame:
		vp.BFrames = 0
	case delay < 2*frame:
		vp.BFrames = 1
	}
	return vp, ""
}

// outputTimescale is the output video track's timescale: the source's
// for a smart plan (set there), else what ffmpeg's MP4 muxer picks for a
// whole render at the output rate (the encoder's rate, doubled until it
// is at least 10000).
func outputTimescale(p *plan) int64 {
	den := int64(math.Round(p.fps))
	if math.Abs(p.fps-float64(den)) > 0.001 {
		den = int64(math.Round(p.fps * 1001)) // 30000/1001 and its kin
		if math.Abs(float64(den)/1001-p.fps) > 0.001 {
			den = 90000
		}
	}
	for den > 0 && den < 10000 {
		den *= 2
	}
	return den
}

// timeline is what the planner cuts: the frames in display order, their
// render times, and where a part may start.
type timeline struct {
	times      []float64 // render time of each frame (seconds), display order
	end        float64   // where the last frame ends
	cut        []bool    // cut[i]: a run may start at frame i
	bytes      []int64   // bytes[i]: the packets before frame i's, in decode order (valid at cuts)
	seekUS     []int64   // at cuts: where ffmpeg seeks to start there
	startUS    int64
	timescale  int64  // the source's ticks a second
	frameTicks int64  // the usual frame duration, in the source's ticks
	why        string // why no copy could be exact, when that is the index's fault
}

// span is the time from frame a to frame b (b may be len(times)).
func (tl *timeline) span(a, b int) float64 { return tl.at(b) - tl.at(a) }

func (tl *timeline) at(i int) float64 {
	if i >= len(tl.times) {
		return tl.end
	}
	return tl.times[i]
}

func (tl *timeline) part(index, a, b int, canvas bool) Part {
	pt := Part{Index: index, Start: tl.at(a), End: tl.at(b), FirstFrame: a, Frames: b - a, SeekUS: -1}
	if a > 0 && !canvas {
		pt.SeekUS = tl.seekUS[a]
	}
	return pt
}

// canvasTimeline is a generated source's: every frame may start a part.
func canvasTimeline(p *plan) *timeline {
	fps := p.source.FPS
	n := int(math.Ceil(p.duration*fps - 1e-9))
	tl := &timeline{times: make([]float64, n), cut: make([]bool, n), end: float64(n) / fps}
	for i := range tl.times {
		tl.times[i], tl.cut[i] = float64(i)/fps, true
	}
	return tl
}

// videoTimeline reads the source's frames and cut points from its packet
// index. A keyframe starts a run only if it starts a closed GOP: every
// packet before it in decode order is shown before it, every packet
// from it on is shown at or after it, and (for H.264, where the bytes
// say) it is an IDR picture, so nothing after it refers to anything
// before. A smart plan needs more still (see videoParams); the reasons
// it cannot have are kept in why.
func videoTimeline(idx *media.PacketIndex) *timeline {
	pk := idx.Packets
	n := len(pk)
	tb := float64(idx.TBNum) / float64(idx.TBDen)
	startTicks := rescaleUS(idx.StartUS, idx.TBNum, idx.TBDen)
	pts := make([]int64, n)
	for i, p := range pk {
		pts[i] = p.PTS
	}
	slices.Sort(pts)
	tl := &timeline{times: make([]float64, n), cut: make([]bool, n), bytes: make([]int64, n+1),
		seekUS: make([]int64, n), startUS: idx.StartUS, timescale: idx.TBDen}
	for i, v := range pts {
		// As ffmpeg computes a filter's t: (double)pts * av_q2d(tb).
		tl.times[i] = float64(v-startTicks) * tb
	}
	last := pk[0]
	for _, p := range pk {
		if p.PTS >= last.PTS {
			last = p
		}
	}
	tl.end = float64(last.PTS+max(last.Duration, 0)-startTicks) * tb
	tl.frameTicks = typicalDuration(pk, pts)

	prefixMax := make([]int64, n)
	suffixMin := make([]int64, n)
	for i := range pk {
		prefixMax[i] = pk[i].PTS
		if i > 0 {
			prefixMax[i] = max(prefixMax[i-1], pk[i].PTS)
		}
		tl.bytes[i+1] = tl.bytes[i] + int64(pk[i].Size)
	}
	for i := n - 1; i >= 0; i-- {
		suffixMin[i] = pk[i].PTS
		if i+1 < n {
			suffixMin[i] = min(suffixMin[i+1], pk[i].PTS)
		}
	}
	delay := pk[0].PTS - pk[0].DTS
	tl.cut[0] = true
	for i := 1; i < n; i++ {
		p := pk[i]
		closed := p.Key && prefixMax[i-1] < p.PTS && suffixMin[i] == p.PTS && (!p.IDRKnown || p.IDR)
		// A seam is seamless in decode time only where the source's own
		// decode delay is the one the encoded parts are shifted to.
		tl.cut[i] = closed && p.PTS-p.DTS == delay
		if tl.cut[i] {
			tl.seekUS[i] = ceilUS(p.PTS-startTicks, idx.TBNum, idx.TBDen)
		}
	}
	if !pk[0].Key {
		tl.why = "the source does not start with a keyframe"
	}
	for _, p := range pk {
		if (p.PTS*90000*idx.TBNum)%idx.TBDen != 0 || (p.DTS*90000*idx.TBNum)%idx.TBDen != 0 {
			tl.why = fmt.Sprintf("the source's timestamps (time base %d/%d) do not fall on MPEG-TS's 90 kHz clock, which the seams are joined in", idx.TBNum, idx.TBDen)
			break
		}
	}
	return tl
}

// typicalDuration is the most common gap between consecutive display
// times (or the packets' own duration where there is one frame).
func typicalDuration(pk []media.Packet, sorted []int64) int64 {
	if len(sorted) < 2 {
		return max(pk[0].Duration, 0)
	}
	count := map[int64]int{}
	best, bestN := int64(0), 0
	for i := 1; i < len(sorted); i++ {
		d := sorted[i] - sorted[i-1]
		count[d]++
		if count[d] > bestN || count[d] == bestN && d < best {
			best, bestN = d, count[d]
		}
	}
	return best
}

// rescaleUS converts microseconds to ticks of num/den, rounding to the
// nearest as av_rescale_q does.
func rescaleUS(us, num, den int64) int64 {
	n := us * den
	d := 1_000_000 * num
	if n >= 0 {
		return (n + d/2) / d
	}
	return -((-n + d/2) / d)
}

// ceilUS converts ticks of num/den to microseconds, rounding up, so that
// a seek to it lands on the frame at ticks and not on the one before.
func ceilUS(ticks, num, den int64) int64 {
	n := ticks * 1_000_000 * num
	if n <= 0 {
		return -((-n) / den)
	}
	return (n + den - 1) / den
}

// window is the time a sticker is drawn: frames with start <= t < end,
// as the overlay's and drawtext's enable expressions say.
type window struct{ start, end float64 }

func windows(p *plan) []window {
	var ws []window
	for _, l := range p.layers {
		ws = append(ws, window{l.start, l.end})
	}
	return ws
}

// encodeRuns returns the frame ranges [a, b) that must be encoded: for
// each window, from the cut at or before its first frame to the cut
// after its last, merged where they touch.
func encodeRuns(tl *timeline, ws []window) [][2]int {
	n := len(tl.times)
	var runs [][2]int
	for _, w := range ws {
		first := sort.Search(n, func(i int) bool { return tl.times[i] >= w.start })
		last := sort.Search(n, func(i int) bool { return tl.times[i] >= w.end }) - 1
		if first >= n || last < first {
			continue // no frame falls in the window
		}
		a := first
		for a > 0 && !tl.cut[a] {
			a--
		}
		b := last + 1
		for b < n && !tl.cut[b] {
			b++
		}
		runs = append(runs, [2]int{a, b})
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i][0] < runs[j][0] })
	var merged [][2]int
	for _, r := range runs {
		if k := len(merged) - 1; k >= 0 && r[0] <= merged[k][1] {
			merged[k][1] = max(merged[k][1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// splitRun chooses where to cut the frames [a, b) into parts for
// opt.Workers workers: up to Workers parts, each at least half of
// SplitMinSeconds long, each starting at a cut as near as may be to an
// equal share. It returns the frames that start the second and later
// parts; none when the run should stay whole.
func splitRun(tl *timeline, a, b int, opt PlanOptions) []int {
	length := tl.span(a, b)
	minPart := opt.SplitMinSeconds / 2
	if opt.Workers <= 1 || length <= opt.SplitMinSeconds {
		return nil
	}
	n := min(opt.Workers, int(length/minPart))
	if n < 2 {
		return nil
	}
	var cuts []int
	prev := a
	for k := 1; k < n; k++ {
		target := tl.at(a) + length*float64(k)/float64(n)
		best := -1
		for i := prev + 1; i < b; i++ {
			if !tl.cut[i] || tl.span(prev, i) < minPart || tl.span(i, b) < minPart {
				continue
			}
			if best < 0 || math.Abs(tl.at(i)-target) < math.Abs(tl.at(best)-target) {
				best = i
			}
			if tl.at(i) > target {
				break // later cuts are farther still
			}
		}
		if best < 0 {
			continue
		}
		cuts = append(cuts, best)
		prev = best
	}
	return cuts
}

// fillSmart turns the encode runs into parts (a long run split further
// when there are workers for it) and the gaps between them into copies.
func fillSmart(pl *Plan, tl *timeline, runs [][2]int, opt PlanOptions) {
	n := len(tl.times)
	next := 0
	addCopy := func(a, b int) {
		if b > a {
			pl.Copies = append(pl.Copies, Copy{Start: tl.at(a), End: tl.at(b), FirstFrame: a, Frames: b - a})
			pl.CopiedSeconds += tl.span(a, b)
		}
	}
	for _, r := range runs {
		addCopy(next, r[0])
		bounds := append(append([]int{r[0]}, splitRun(tl, r[0], r[1], opt)...), r[1])
		for i := 0; i+1 < len(bounds); i++ {
			pt := tl.part(len(pl.Parts), bounds[i], bounds[i+1], false)
			if d := tl.span(bounds[i], bounds[i+1]); d > 0 {
				pt.Bitrate = int(math.Round(float64(tl.bytes[bounds[i+1]]-tl.bytes[bounds[i]]) * 8 / d))
			}
			pl.Parts = append(pl.Parts, pt)
		}
		next = r[1]
	}
	addCopy(next, n)
	finishParts(pl, opt)
}

// finishParts fills the totals that follow from the parts.
func finishParts(pl *Plan, opt PlanOptions) {
	total := 0
	pl.EncodedSeconds = 0
	for _, pt := range pl.Parts {
		total += pt.Frames
		pl.EncodedSeconds += pt.End - pt.Start
	}
	for i := range pl.Parts {
		if total > 0 {
			pl.Parts[i].Weight = float64(pl.Parts[i].Frames) / float64(total)
		}
	}
	pl.Segments = len(pl.Parts)
	pl.Workers = max(1, min(len(pl.Parts), max(opt.Workers, 1)))
	if pl.Mode == ModeSplit {
		pl.CopiedSeconds = 0
	}
}
