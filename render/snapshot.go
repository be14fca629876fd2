package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/spec"
)

// ModeSnapshot is the plan mode of a png or jpg output: one frame.
const ModeSnapshot = "snapshot"

// snapshotLookBack is how far before output.time the source's packets are
// read to find the frame shown then: more than any frame lasts in a
// sensible video, and ffprobe reads from the keyframe before it anyway.
const snapshotLookBack = 2.0

// snapshot reports whether p renders one frame to a picture.
func (p *plan) snapshot() bool { return spec.IsSnapshot(p.format) }

// snapshotPlan plans a snapshot: no parts and nothing to copy, one frame.
// output.time must fall inside the source, which for an uploaded source
// is known only now (a canvas's was checked at submit).
func snapshotPlan(s *spec.Spec, p *plan) (*Plan, error) {
	t := spec.Value(s.Output.Time, 0)
	if t >= p.duration {
		msg := "%g s is not before the end of the source (%.3f s)"
		return nil, &errcode.Error{Code: errcode.SpecInvalid, Message: "output.time: " + fmt.Sprintf(msg, t, p.duration),
			Fields: []errcode.FieldError{{Field: "output.time", Message: fmt.Sprintf(msg, t, p.duration)}}}
	}
	pl := &Plan{Mode: ModeSnapshot, Segments: 1, Workers: 1, Frames: 1, FPS: p.fps}
	if p.canvas == nil {
		pl.Source = SourceFingerprint{Bytes: p.source.Bytes, Duration: p.source.Duration, Frames: p.source.Frames}
	}
	return pl, nil
}

// renderSnapshot renders the frame shown at output.time, with every
// sticker as it is then, to job.Output. It is a one-frame part window
// (part.go): the source is opened with an accurate input seek to that
// frame and -copyts, so the filter graph's t, and with it every
// sticker's position, keyframes, animation preset, GIF frame and text
// timing, is what a whole render computes for that frame; only the GOP
// before it is decoded, not the timeline up to it.
func (e *Engine) renderSnapshot(ctx context.Context, job Job, p *plan, pl *Plan) (*Result, error) {
	t := spec.Value(job.Spec.Output.Time, 0)
	tmp := partialPath(job.Output)
	defer os.Remove(tmp)
	var (
		args []string
		run  ffmpegOutcome
		err  error
	)
	if p.canvas != nil {
		args, run, err = e.snapshotRun(ctx, p, canvasFrame(p, t), t, tmp)
	} else {
		args, run, err = e.snapshotVideo(ctx, p, t, tmp)
	}
	if err != nil {
		return nil, err
	}
	res, err := e.verifySnapshot(tmp, p, t, run)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, job.Output); err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "cannot store the output")
	}
	res.Path, res.Encodes, res.Args, res.Plan = job.Output, 1, args, pl
	// One frame: the GPU chain's set-up would cost more than it saves.
	res.Encoder = p.encoder
	res.Encoder.Chain, res.Encoder.ChainReason = ChainCPU, "a snapshot is one frame, composited on the CPU"
	if job.Progress != nil {
		job.Progress(1)
	}
	return res, nil
}

// snapshotVideo renders the frame of a video source shown at t into out.
// The filter graph keeps the frames from the seek up to t and writes the
// last of them (snapshotOutput), so a seek anywhere after the frame
// before it and at or before it lands right. The first try seeks where
// the source's frame rate puts that frame, which needs nothing read
// first; when no frame starts between there and t (timestamps off the
// rate's grid, a variable rate), the frames around t are read from the
// container and the frame found is rendered.
func (e *Engine) snapshotVideo(ctx context.Context, p *plan, t float64, out string) ([]string, ffmpegOutcome, error) {
	if guess, ok := gridFrame(p, t); ok {
		args, run, err := e.snapshotRun(ctx, p, guess, t, out)
		if err != nil || wroteFrame(out) {
			return args, run, err
		}
	}
	pt, err := e.snapshotFrame(ctx, p, t)
	if err != nil {
		return nil, ffmpegOutcome{}, err
	}
	// max: t before the video's first frame shows that frame.
	return e.snapshotRun(ctx, p, pt, max(t, pt.Start), out)
}

// snapshotRun renders the one-frame window pt, keeping the last frame at
// or before upTo, into out.
func (e *Engine) snapshotRun(ctx context.Context, p *plan, pt Part, upTo float64, out string) ([]string, ffmpegOutcome, error) {
	q := *p
	q.window = &partWindow{part: pt, upTo: upTo}
	q.chain = ChainCPU
	os.Remove(out) // an earlier try's empty file
	args, err := compile(&q, rateSettings{}, media.FileURL(out))
	if err != nil {
		return nil, ffmpegOutcome{}, err
	}
	run, err := e.runFFmpeg(ctx, args, 0, nil)
	return args, run, err
}

// wroteFrame reports whether ffmpeg wrote a picture to path: it leaves
// the file empty when no frame passed the filters.
func wroteFrame(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() > 0
}

// canvasFrame is a canvas's one-frame window at t: its frames are n/fps,
// numbered by the color source itself.
func canvasFrame(p *plan, t float64) Part {
	fps := p.source.FPS
	n := max(1, int(math.Ceil(p.duration*fps-1e-9)))
	k := min(n-1, int(math.Floor(t*fps+1e-6)))
	return Part{Start: float64(k) / fps, End: float64(k+1) / fps, FirstFrame: k, Frames: 1, SeekUS: -1}
}

// gridFrame is where a constant-rate source's frame rate puts the frame
// shown at t, frame k at k/fps from the start: its window, the seek
// rounded up to the microsecond as frameAt rounds a frame's time.
func gridFrame(p *plan, t float64) (Part, bool) {
	fps := p.source.FPS
	if p.source.VariableRate || fps <= 0 {
		return Part{}, false
	}
	k := math.Floor(t*fps + 1e-6)
	pt := Part{Start: k / fps, End: (k + 1) / fps, Frames: 1, SeekUS: -1}
	if us := int64(math.Ceil(k*1e6/fps - 1e-3)); us > 0 {
		pt.SeekUS = us
	}
	return pt, true
}

// snapshotFrame reads the source's packets around t and returns the
// one-frame window of the frame shown at t: the last frame that starts
// at or before t (the first frame when t comes before it).
func (e *Engine) snapshotFrame(ctx context.Context, p *plan, t float64) (Part, error) {
	idx, err := e.prober.PacketsBetween(ctx, p.sourcePath, t-snapshotLookBack, t+1)
	if errors.Is(err, media.ErrNoPackets) {
		msg := "the source's video has no frame at %g s (its video ends earlier than its sound)"
		return Part{}, &errcode.Error{Code: errcode.SpecInvalid, Message: "output.time: " + fmt.Sprintf(msg, t),
			Fields: []errcode.FieldError{{Field: "output.time", Message: fmt.Sprintf(msg, t)}}}
	}
	if err != nil {
		if ctx.Err() != nil {
			return Part{}, errcode.Wrap(errcode.Canceled, ctx.Err(), "the render was canceled")
		}
		return Part{}, withField(err, "source")
	}
	return frameAt(idx, t, p.fps), nil
}

// frameAt picks, from packets read around t, the frame shown at t, and
// the seek that lands on it: its time rounded up to the microsecond (as
// a part's seek is), so that the accurate seek keeps it and drops the
// frame before. Times are render times (pts less the file's start), as
// a filter's t sees them; t matches a frame that starts within half a
// microsecond of it.
func frameAt(idx *media.PacketIndex, t, fps float64) Part {
	tb := float64(idx.TBNum) / float64(idx.TBDen)
	start := rescaleUS(idx.StartUS, idx.TBNum, idx.TBDen)
	best, first := int64(math.MinInt64), int64(math.MaxInt64)
	for _, pk := range idx.Packets {
		rel := pk.PTS - start
		first = min(first, rel)
		if float64(rel)*tb <= t+5e-7 {
			best = max(best, rel)
		}
	}
	if best == math.MinInt64 {
		best = first // t is before the video's first frame
	}
	at := float64(best) * tb
	pt := Part{Start: at, End: at + 1/math.Max(fps, 1), Frames: 1, SeekUS: -1}
	if us := ceilUS(best, idx.TBNum, idx.TBDen); us > 0 {
		pt.SeekUS = us
	}
	return pt
}

// verifySnapshot checks the written picture (its signature, one whole
// frame of the planned size) and measures it for the Result.
func (e *Engine) verifySnapshot(path string, p *plan, t float64, run ffmpegOutcome) (*Result, error) {
	f, err := os.Open(path)
	if err == nil && !wroteFrame(path) {
		f.Close()
		err = errors.New("empty")
	}
	if err != nil {
		// ffmpeg ran and wrote nothing: no frame came out of the seek.
		code := errcode.SourceUnreadable
		if p.canvas != nil {
			code = errcode.FFmpegFailed
		}
		why := ""
		if d := decodeErrors(run.stderr); d != "" {
			why = " (ffmpeg: " + d + ")"
		}
		return nil, errcode.New(code, "source: no frame could be decoded at %g s; the file is truncated or damaged%s", t, why)
	}
	head := make([]byte, 12)
	n, _ := io.ReadFull(f, head)
	f.Close()
	if !hasSignature(p.format, head[:n]) {
		return nil, errcode.New(errcode.FFmpegFailed, "the output is not a %s file", p.format)
	}
	m, err := media.Measure(path, p.format)
	if err != nil {
		return nil, errcode.Wrap(errcode.FFmpegFailed, err, "the output cannot be read back: %v", err)
	}
	switch {
	case !m.DataComplete:
		return nil, errcode.New(errcode.FFmpegFailed, "the output is incomplete: it does not end with its format's trailer")
	case m.Frames != 1:
		return nil, errcode.New(errcode.FFmpegFailed, "the snapshot holds %d frames, not 1", m.Frames)
	case m.Width != p.width || m.Height != p.height:
		return nil, errcode.New(errcode.FFmpegFailed, "the snapshot is %dx%d, not the planned %dx%d", m.Width, m.Height, p.width, p.height)
	}
	return &Result{Format: p.format, Width: m.Width, Height: m.Height, Bytes: m.Bytes, Frames: m.Frames,
		PeakRSSBytes: run.peakRSS}, nil
}

// snapshotOutput ends a snapshot's graph and writes the one frame as a
// picture. A video's composited frames from the seek on are cut to those
// starting at or before its time (within half a microsecond, as frameAt
// counts), and the stream is ended just after it (trim), so nothing
// later is decoded; of those left, usually one, reverse puts the last
// first, and it is the one written. The cut comes after the stickers,
// not on the source: a source that ended at once would end the overlays
// before their sticker streams had caught up with it, and they would
// pass its frame through undrawn.
//
// The picture is PNG in RGB (RGBA when the canvas is transparent) or
// baseline JPEG in full-range 4:2:0, as every viewer expects. The muxer
// writes the encoded frame's bytes and nothing else; passthrough keeps
// ffmpeg from filling the timeline before the frame with copies of it.
func snapshotOutput(p *plan, v *ffmpeg.Stream) (*ffmpeg.Stream, ffmpeg.KwArgs) {
	if p.canvas == nil {
		at := p.window.upTo
		next := at + 1.5/math.Max(p.source.FPS, 1) // past the next frame's start
		v = v.Filter("trim", nil, ffmpeg.KwArgs{"end": formatUS(int64(math.Ceil(next * 1e6)))})
		v = v.Filter("select", nil, ffmpeg.KwArgs{"expr": "lte(t," + strconv.FormatFloat(at+5e-7, 'f', 9, 64) + ")"})
		v = v.Filter("reverse", nil, ffmpeg.KwArgs{})
	}
	kw := ffmpeg.KwArgs{"format": "image2pipe", "frames:v": 1, "fps_mode": "passthrough"}
	if p.threads > 0 {
		kw["threads"] = p.threads
	}
	q := snapshotQualityOf(p.quality)
	if p.format == spec.FormatJPG {
		kw["c:v"], kw["pix_fmt"], kw["q:v"] = "mjpeg", "yuvj420p", q.jpegQScale
		return v, kw
	}
	kw["c:v"], kw["pix_fmt"], kw["compression_level"] = "png", "rgb24", q.pngLevel
	if p.alpha {
		kw["pix_fmt"] = "rgba"
	}
	return v, kw
}

// snapshotQuality maps output.quality onto the picture encoders: the
// JPEG quantiser scale (2 is the finest, about quality 95; 4 about 88;
// 8 about 75), and the PNG zlib level (the picture is lossless at each;
// the level trades the encode's time for bytes).
type snapshotQuality struct {
	jpegQScale int
	pngLevel   int
}

func snapshotQualityOf(q string) snapshotQuality {
	switch q {
	case "draft":
		return snapshotQuality{8, 1}
	case "high":
		return snapshotQuality{2, 6}
	}
	return snapshotQuality{4, 3}
}
