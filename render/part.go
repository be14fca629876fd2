package render

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
)

// Parts are written as MPEG-TS: its files join by concatenation, each
// H.264 keyframe in it carries its parameter sets (SPS/PPS) in-band, so
// runs coded with different parameter sets follow one another cleanly,
// and its timestamps are absolute, so a part keeps its place on the
// timeline without the joiner re-timing anything.
const (
	// PartExt is the extension of a rendered part's file.
	PartExt = ".ts"
	// partOffset90k is added to every timestamp in a part (one second at
	// 90 kHz), so that the first frames' decode times, which come before
	// their display times, are never negative.
	partOffset90k = 90000
)

// PartResult describes one rendered part.
type PartResult struct {
	Index   int     `json:"index"`
	Path    string  `json:"-"`
	Frames  int     `json:"frames"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"` // wall time of its encode
	// CPUSeconds is the CPU time its ffmpeg used (user and system): the
	// part's cost whatever else the machine was running.
	CPUSeconds float64  `json:"cpu_seconds"`
	Encoder    string   `json:"encoder"`
	Args       []string `json:"-"` // the encode's ffmpeg command line
}

// RenderPart renders the encoded part index of pl to out, an MPEG-TS file
// (PartExt) holding video only, which Stitch joins. It needs the whole
// job (the spec, and a resolver that reaches the source and the stickers)
// but nothing of the plan's other parts. job.Output is ignored;
// job.Progress gets the part's own fraction. A source that is not the
// one the plan was made for (bytes, duration, frames) is refused with
// SOURCE_UNREADABLE.
func (e *Engine) RenderPart(ctx context.Context, job Job, pl *Plan, index int, out string) (*PartResult, error) {
	if job.Spec == nil || pl == nil || out == "" {
		return nil, errors.New("render: RenderPart needs a Spec, a Plan and an output path")
	}
	if index < 0 || index >= len(pl.Parts) {
		return nil, fmt.Errorf("render: the plan has %d parts, not a part %d", len(pl.Parts), index)
	}
	p, done, err := e.preparePlanned(ctx, job, pl, "part-")
	if err != nil {
		return nil, err
	}
	defer done()
	return e.renderPart(ctx, p, pl, index, out, newProgress(job.Progress, 1).attempt(1))
}

// preparePlanned prepares job in a new work folder (named from prefix) for
// work on pl, refusing a source that differs from the plan's; done removes
// the folder.
func (e *Engine) preparePlanned(ctx context.Context, job Job, pl *Plan, prefix string) (p *plan, done func(), err error) {
	work, err := os.MkdirTemp(e.cfg.WorkDir, prefix)
	if err != nil {
		return nil, nil, errcode.Wrap(errcode.StorageFailed, err, "cannot create a work folder")
	}
	done = func() { os.RemoveAll(work) }
	p, err = e.prepare(ctx, job, work)
	if err == nil {
		err = checkSource(pl, p)
	}
	if err != nil {
		done()
		return nil, nil, err
	}
	return p, done, nil
}

// checkSource refuses a source that differs from the plan's.
func checkSource(pl *Plan, p *plan) error {
	if p.canvas != nil {
		if pl.Source != (SourceFingerprint{}) {
			return errcode.New(errcode.SourceUnreadable, "source: the plan was made for a video, the job has a canvas")
		}
		return nil
	}
	got := SourceFingerprint{Bytes: p.source.Bytes, Duration: p.source.Duration, Frames: p.source.Frames}
	if got != pl.Source {
		return errcode.New(errcode.SourceUnreadable, "source: %d bytes, %.3f s, %d frames, but the plan was made for %d bytes, %.3f s, %d frames",
			got.Bytes, got.Duration, got.Frames, pl.Source.Bytes, pl.Source.Duration, pl.Source.Frames)
	}
	return nil
}

// renderPart encodes one part of a prepared job, checks it holds the
// frames it should, starting with a keyframe, and moves it to out.
func (e *Engine) renderPart(ctx context.Context, p *plan, pl *Plan, index int, out string, progress func(float64)) (*PartResult, error) {
	pt := pl.Parts[index]
	q := *p
	q.window = &partWindow{part: pt, video: pl.Video}
	// Parts composite on the CPU and encode with libx264 on every worker,
	// so that parts from any machine join into one stream.
	q.chain = ChainCPU
	q.workDir = filepath.Join(p.workDir, fmt.Sprintf("part-%d", index)) // its own sendcmd scripts
	if err := os.MkdirAll(q.workDir, 0o700); err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "cannot create a work folder")
	}
	tmp := partialPath(out)
	defer os.Remove(tmp)
	args, err := compile(&q, rateSettings{}, media.FileURL(tmp))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ff, err := e.runFFmpeg(ctx, args, pt.End-pt.Start, progress)
	if err != nil {
		return nil, err
	}
	took := time.Since(start).Seconds()
	idx, err := e.prober.Packets(ctx, tmp)
	if err != nil {
		return nil, errcode.Wrap(errcode.FFmpegFailed, err, "part %d cannot be read back", index)
	}
	first := idx.Packets[0]
	if len(idx.Packets) != pt.Frames {
		// Fewer frames than the plan counted: the source ends early.
		return nil, errcode.New(errcode.SourceUnreadable, "source: part %d (%.2f s to %.2f s) decoded to %d frames, not %d; the file is truncated or damaged",
			index, pt.Start, pt.End, len(idx.Packets), pt.Frames)
	}
	if !first.Key {
		return nil, errcode.New(errcode.FFmpegFailed, "part %d does not start with a keyframe", index)
	}
	want := (pt.Start)*90000 + partOffset90k
	if math.Abs(float64(first.PTS)-want) > 45000/math.Max(pl.FPS, 1) {
		return nil, errcode.New(errcode.FFmpegFailed, "part %d starts at %.4f s, not %.4f s", index,
			float64(first.PTS-partOffset90k)/90000, pt.Start)
	}
	if v := pl.Video; v != nil {
		// The source's decode times run delay ahead of its display times;
		// the encoder's may run less far ahead. Shifting the part's decode
		// times back by the difference makes them continue the source's
		// on both sides of it, as the MP4 muxer needs.
		shift := v.Delay90k - (first.PTS - first.DTS)
		if shift < 0 {
			return nil, errcode.New(errcode.FFmpegFailed, "part %d reorders frames more deeply than the source", index)
		}
		if shift > 0 {
			if err := e.shiftDTS(ctx, tmp, out, shift); err != nil {
				return nil, err
			}
		} else if err := os.Rename(tmp, out); err != nil {
			return nil, errcode.Wrap(errcode.StorageFailed, err, "cannot store part %d", index)
		}
	} else if err := os.Rename(tmp, out); err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "cannot store part %d", index)
	}
	st, err := os.Stat(out)
	if err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "cannot store part %d", index)
	}
	if progress != nil {
		progress(1)
	}
	return &PartResult{Index: index, Path: out, Frames: pt.Frames, Bytes: st.Size(), Seconds: took,
		CPUSeconds: ff.cpu, Encoder: "libx264", Args: args}, nil
}

// shiftDTS copies the MPEG-TS file in to out with every decode time
// moved back by shift 90 kHz ticks (the setts bitstream filter);
// display times are untouched.
func (e *Engine) shiftDTS(ctx context.Context, in, out string, shift int64) error {
	args := shiftArgs(in, out, shift)
	_, err := e.runFFmpeg(ctx, args, 0, nil)
	return err
}

// shiftArgs copy an MPEG-TS part with its decode times moved back.
func shiftArgs(in, out string, shift int64) []string {
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats", "-copyts"}
	args = append(args, media.InputGuard("mpegts")...)
	return append(args, "-i", media.FileURL(in), "-map", "0:v:0", "-c", "copy",
		"-bsf:v", "setts=dts=DTS-"+strconv.FormatInt(shift, 10),
		"-f", "mpegts", "-mpegts_copyts", "1", media.FileURL(out))
}

// partVideo ends a part's video chain: a smart part keeps the source's
// sample aspect ratio, which the encoder would otherwise not be told of
// by every decoder.
func partVideo(p *plan, v *ffmpeg.Stream) *ffmpeg.Stream {
	if vp := p.window.video; vp != nil && vp.SAR != "" {
		v = v.Filter("setsar", nil, ffmpeg.KwArgs{"sar": strings.Replace(vp.SAR, ":", "/", 1)})
	}
	return v
}

// partOutputArgs are a part's encoder and muxer options. A smart part
// reproduces the source's stream: profile, level, pixel format, colour
// tags, time base, no deeper frame reordering, and about the bitrate of
// the packets it replaces. A part of a full encode takes the job's own
// quality. Either way it is libx264, whatever the worker's GPU: parts
// from different workers must join into one stream.
func partOutputArgs(p *plan) ffmpeg.KwArgs {
	w := p.window
	q := qualityOf(p.quality)
	kw := ffmpeg.KwArgs{"format": "mpegts", "mpegts_copyts": "1", "output_ts_offset": "1",
		"frames:v": w.part.Frames, "c:v": "libx264", "preset": q.x264Preset}
	if p.threads > 0 {
		kw["threads"] = p.threads
	}
	v := w.video
	if v == nil {
		kw["pix_fmt"] = "yuv420p"
		kw["crf"] = q.x264CRF
		return kw
	}
	kw["pix_fmt"] = v.PixFmt
	kw["profile:v"] = v.Profile
	if v.Level > 0 {
		kw["level:v"] = strconv.Itoa(v.Level)
	}
	for opt, val := range map[string]string{"color_range": v.ColorRange, "colorspace": v.ColorSpace,
		"color_trc": v.ColorTransfer, "color_primaries": v.ColorPrimaries} {
		if val != "" {
			kw[opt] = val
		}
	}
	br := max(w.part.Bitrate, minVideoBitrate)
	kw["b:v"], kw["maxrate"], kw["bufsize"] = strconv.Itoa(br), strconv.Itoa(br*3/2), strconv.Itoa(br*2)
	switch v.BFrames {
	case 0:
		kw["bf"] = "0"
	case 1:
		kw["bf"], kw["b-pyramid"] = "1", "none"
	}
	kw["fps_mode"] = "passthrough"
	kw["enc_time_base"] = v.TimeBase
	return kw
}

// formatUS writes microseconds as seconds for an ffmpeg option, exactly.
func formatUS(us int64) string {
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	return fmt.Sprintf("%s%d.%06d", sign, us/1_000_000, us%1_000_000)
}
