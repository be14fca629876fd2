package render

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
)

// Stitch joins the rendered parts (parts[i] is the file RenderPart wrote
// for pl.Parts[i]) with the source's copied stretches, by stream copy;
// muxes the audio (the source's, copied, or encoded once for the whole
// timeline, so there is no encoder priming gap at any seam); verifies the
// result and writes job.Output. It needs the job's source (for the
// copies and the audio), not the stickers. When the joined file fails
// verification, or a smart result is over output.max_bytes, it renders
// the job whole instead and says why in Result.Plan.Reason.
func (e *Engine) Stitch(ctx context.Context, job Job, pl *Plan, parts []string) (*Result, error) {
	if job.Spec == nil || job.Output == "" || pl == nil {
		return nil, errors.New("render: Stitch needs a Spec, an Output path and a Plan")
	}
	p, done, err := e.preparePlanned(ctx, job, pl, "stitch-")
	if err != nil {
		return nil, err
	}
	defer done()
	return e.stitch(ctx, job, p, pl, parts, newProgress(job.Progress, 1).attempt(1))
}

// run is one stretch of the joined timeline: a copy or a part.
type run struct {
	first, frames int
	part          int // index into Plan.Parts; -1 for a copy
	start, end    float64
}

// runs lists the plan's copies and parts in timeline order.
func (pl *Plan) runs() []run {
	var rs []run
	for _, c := range pl.Copies {
		rs = append(rs, run{c.FirstFrame, c.Frames, -1, c.Start, c.End})
	}
	for i, pt := range pl.Parts {
		rs = append(rs, run{pt.FirstFrame, pt.Frames, i, pt.Start, pt.End})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].first < rs[j].first })
	return rs
}

func (e *Engine) stitch(ctx context.Context, job Job, p *plan, pl *Plan, parts []string, progress func(float64)) (*Result, error) {
	if pl.Mode == ModeFull {
		return nil, errors.New("render: a full plan has no parts to stitch; Render it")
	}
	if len(parts) != len(pl.Parts) {
		return nil, fmt.Errorf("render: %d part files for a plan of %d parts", len(parts), len(pl.Parts))
	}
	runs := pl.runs()
	next := 0
	for _, r := range runs {
		if r.first != next {
			return nil, fmt.Errorf("render: the plan's runs leave out frames %d to %d", next, r.first)
		}
		next = r.first + r.frames
	}
	if next != pl.Frames {
		return nil, fmt.Errorf("render: the plan's runs cover %d of its %d frames", next, pl.Frames)
	}
	var segs []string
	if len(pl.Copies) > 0 {
		var err error
		if segs, err = e.cutCopies(ctx, p, runs); err != nil {
			return e.fallBack(ctx, job, p, pl, err, progress)
		}
	}
	joined := filepath.Join(p.workDir, "joined"+PartExt)
	if err := joinFiles(joined, runs, segs, parts); err != nil {
		return nil, err
	}
	tmp := partialPath(job.Output)
	defer os.Remove(tmp)
	args := muxArgs(p, pl, joined, tmp)
	run, err := e.runFFmpeg(ctx, args, pl.Duration, progress)
	if err != nil {
		return e.fallBack(ctx, job, p, pl, err, progress)
	}
	res, err := e.verifyJoined(ctx, p, pl, tmp, runs, run)
	if err != nil {
		return e.fallBack(ctx, job, p, pl, err, progress)
	}
	if p.maxBytes > 0 && res.Bytes > p.maxBytes {
		return e.fallBack(ctx, job, p, pl, fmt.Errorf("the smart result came to %d bytes, over output.max_bytes", res.Bytes), progress)
	}
	if err := os.Rename(tmp, job.Output); err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "cannot store the output")
	}
	res.Path, res.Args, res.Encodes, res.Plan = job.Output, args, len(pl.Parts), pl
	res.Encoder = EncoderChoice{Name: "libx264", Reason: pl.Mode + " render: parts are encoded with libx264 so they join into one stream"}
	if progress != nil {
		progress(1)
	}
	return res, nil
}

// fallBack renders the job whole after a joined result failed, unless
// the failure was the caller's cancellation. Its progress goes to
// progress, the stitch's own, which only ever rises.
func (e *Engine) fallBack(ctx context.Context, job Job, p *plan, pl *Plan, why error, progress func(float64)) (*Result, error) {
	if ctx.Err() != nil || errcode.Of(why) == errcode.Canceled {
		return nil, why
	}
	job.Progress = progress
	res, err := e.encode(ctx, p, job)
	if err != nil {
		return nil, err
	}
	full := &Plan{Mode: ModeFull, Segments: 1, Workers: 1, EncodedSeconds: pl.Duration, Source: pl.Source,
		Frames: pl.Frames, FPS: pl.FPS, Duration: pl.Duration, StartUS: pl.StartUS, Audio: pl.Audio,
		Reason: pl.Mode + " render fell back to a full render: " + reasonText(why)}
	res.Plan = full
	return res, nil
}

func reasonText(err error) string {
	var e *errcode.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// cutCopies writes the source's video as one MPEG-TS file per run, cut
// at the runs' first frames, and returns them. The segment muxer counts
// packets in decode order, and a copy starts and ends at the keyframe of
// a closed GOP, where the packets before it are exactly the frames shown
// before it: the cuts fall on whole packets, by number, with nothing
// decoded, sought or rounded. (The concat demuxer's inpoint/outpoint
// would cut by time and, when stream copying, keep packets from before
// an inpoint.) The files of encoded runs are written too and left unused.
func (e *Engine) cutCopies(ctx context.Context, p *plan, runs []run) ([]string, error) {
	pattern := filepath.Join(p.workDir, "seg%05d"+PartExt)
	if _, err := e.runFFmpeg(ctx, cutArgs(p.sourcePath, pattern, runs), 0, nil); err != nil {
		return nil, err
	}
	segs := make([]string, len(runs))
	for i := range runs {
		segs[i] = fmt.Sprintf(pattern, i)
		if _, err := os.Stat(segs[i]); err != nil {
			return nil, errcode.New(errcode.SourceUnreadable, "source: cutting it at its keyframes gave %d pieces, not %d", i, len(runs))
		}
	}
	return segs, nil
}

// cutArgs are the segment muxer's: the source's video, stream copied, in
// one MPEG-TS file per run (pattern numbers them), with the parts'
// timestamp offset.
func cutArgs(source, pattern string, runs []run) []string {
	var at []string
	for _, r := range runs[1:] {
		at = append(at, strconv.Itoa(r.first))
	}
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats"}
	args = append(args, media.InputGuard(media.VideoFormats)...)
	args = append(args, "-i", media.FileURL(source), "-map", "0:v:0", "-c", "copy",
		"-output_ts_offset", "1", "-f", "segment", "-segment_format", "mpegts",
		"-segment_format_options", "mpegts_copyts=1")
	if len(at) > 0 {
		args = append(args, "-segment_frames", strings.Join(at, ","))
	} else {
		args = append(args, "-segment_time", "1000000")
	}
	return append(args, pattern)
}

// joinFiles concatenates the runs' MPEG-TS files in timeline order.
func joinFiles(out string, runs []run, segs, parts []string) error {
	f, err := os.Create(out)
	if err != nil {
		return errcode.Wrap(errcode.StorageFailed, err, "cannot join the parts")
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i, r := range runs {
		name := ""
		if r.part >= 0 {
			name = parts[r.part]
		} else {
			name = segs[i]
		}
		in, err := os.Open(name)
		if err != nil {
			f.Close()
			return errcode.Wrap(errcode.StorageFailed, err, "cannot read a part to join")
		}
		_, err = io.Copy(w, in)
		in.Close()
		if err != nil {
			f.Close()
			return errcode.Wrap(errcode.StorageFailed, err, "cannot join the parts")
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return errcode.Wrap(errcode.StorageFailed, err, "cannot join the parts")
	}
	return f.Close()
}

// muxArgs put the joined video, with the audio, into the MP4. Timestamps
// are copied, not rebased: the video's are the source's own plus the
// parts' offset, taken off here, so the video lands where the source's
// did relative to its audio, and the MP4 muxer writes the same edit list
// a plain remux of the source would. The access unit delimiters MPEG-TS
// adds to every packet are dropped again; the parameter sets stay in-band
// at every keyframe, so a player that seeks into a copied run after
// playing an encoded one finds the source's own there.
func muxArgs(p *plan, pl *Plan, joined, out string) []string {
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats", "-progress", "pipe:1", "-copyts"}
	args = append(args, "-itsoffset", formatUS(pl.StartUS-1_000_000))
	args = append(args, media.InputGuard("mpegts")...)
	args = append(args, "-i", media.FileURL(joined))
	if pl.Audio != "" {
		args = append(args, media.InputGuard(media.VideoFormats)...)
		args = append(args, "-i", media.FileURL(p.sourcePath))
	}
	args = append(args, "-map", "0:v:0", "-c:v", "copy", "-bsf:v", "filter_units=remove_types=9")
	switch pl.Audio {
	case "copy":
		args = append(args, "-map", "1:a:0", "-c:a", "copy")
	case "encode":
		args = append(args, "-map", "1:a:0", "-c:a", "aac", "-b:a", strconv.Itoa(audioSteps[0]))
		if needsDownmix(p) {
			args = append(args, "-af", "aformat=channel_layouts=stereo")
		}
	}
	if p.threads > 0 {
		args = append(args, "-threads", strconv.Itoa(p.threads))
	}
	if pl.Timescale > 0 {
		args = append(args, "-video_track_timescale", strconv.FormatInt(pl.Timescale, 10))
	}
	return append(args, "-movflags", "+faststart", "-f", "mp4", media.FileURL(out))
}

// verifyJoined checks the joined file: an MP4 whose index is whole, with
// the plan's frame count, lasting the source's time to within a frame,
// with audio where the plan has it, and decoding without an error around
// every seam (the only places where pictures meet that were not coded
// together; everything between is either the source's packets or one
// encoder's output).
func (e *Engine) verifyJoined(ctx context.Context, p *plan, pl *Plan, path string, runs []run, ff ffmpegOutcome) (*Result, error) {
	m, err := media.Measure(path, "mp4")
	if err != nil {
		return nil, fmt.Errorf("the joined file cannot be read back: %w", err)
	}
	frame := 1 / math.Max(pl.FPS, 1)
	switch {
	case !m.DataComplete:
		return nil, errors.New("the joined file is incomplete")
	case m.Frames != pl.Frames:
		return nil, fmt.Errorf("the joined file has %d frames, not %d", m.Frames, pl.Frames)
	case math.Abs(m.Duration-pl.Duration) > frame+0.002:
		return nil, fmt.Errorf("the joined file lasts %.3f s, not %.3f s", m.Duration, pl.Duration)
	case m.HasAudio != (pl.Audio != ""):
		return nil, fmt.Errorf("the joined file's audio is missing or unexpected")
	}
	var seams []float64
	for _, r := range runs[1:] {
		seams = append(seams, r.start)
	}
	for _, w := range seamWindows(seams, pl.Duration) {
		if err := e.decodeCheck(ctx, path, w[0], w[1]-w[0]); err != nil {
			return nil, err
		}
	}
	return &Result{Format: p.format, Width: m.Width, Height: m.Height, FPS: m.FPS, Duration: m.Duration,
		Bytes: m.Bytes, Frames: m.Frames, HasAudio: m.HasAudio, PeakRSSBytes: ff.peakRSS}, nil
}

// seamWindows are the stretches decoded to check the seams: a second
// either side of each, merged where they meet.
func seamWindows(seams []float64, duration float64) [][2]float64 {
	var ws [][2]float64
	for _, s := range seams {
		a, b := math.Max(0, s-1), math.Min(duration, s+1)
		if k := len(ws) - 1; k >= 0 && a <= ws[k][1] {
			ws[k][1] = b
			continue
		}
		ws = append(ws, [2]float64{a, b})
	}
	return ws
}

// decodeArgs decode the video of the MP4 at path from at for dur seconds,
// to nothing.
func decodeArgs(path string, at, dur float64, threads int) []string {
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-nostats"}
	if threads > 0 {
		args = append(args, "-threads", strconv.Itoa(threads))
	}
	args = append(args, media.InputGuard("mov")...)
	return append(args, "-ss", num(at), "-t", num(dur), "-i", media.FileURL(path), "-map", "0:v:0", "-f", "null", "-")
}

// decodeCheck decodes the video from at for dur seconds and fails on any
// error ffmpeg reports.
func (e *Engine) decodeCheck(ctx context.Context, path string, at, dur float64) error {
	args := decodeArgs(path, at, dur, e.cfg.Threads)
	cmd := exec.CommandContext(ctx, e.cfg.FFmpeg, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr tailBuffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return errcode.Wrap(errcode.Canceled, ctx.Err(), "the render was canceled")
	}
	if err != nil || stderr.String() != "" {
		return fmt.Errorf("the joined file does not decode cleanly from %.2f s: %s", at, explainFailure(stderr.String()))
	}
	return nil
}
