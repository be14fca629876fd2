package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
)

// encodeChain runs ffmpeg on p's chain until the output meets max_bytes
// (or cannot), then verifies it and moves it into place. encode
// (gpu_chain.go) chooses the chain.
func (e *Engine) encodeChain(ctx context.Context, p *plan, job Job) (*Result, error) {
	rs, err := initialRate(p)
	if err != nil {
		return nil, err
	}
	tmp := partialPath(job.Output)
	defer os.Remove(tmp)
	prog := newProgress(job.Progress, e.cfg.RateControlAttempts)
	var args []string
	for attempt := 1; ; attempt++ {
		args, err = compile(p, rs, tmp)
		if err != nil {
			return nil, err
		}
		run, err := e.runFFmpeg(ctx, args, p.duration, prog.attempt(attempt))
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(tmp)
		if err != nil {
			return nil, errcode.Wrap(errcode.FFmpegFailed, err, "ffmpeg wrote no output")
		}
		if p.maxBytes == 0 || st.Size() <= p.maxBytes {
			res, err := e.verify(tmp, p, run)
			if err != nil {
				return nil, err
			}
			if err := os.Rename(tmp, job.Output); err != nil {
				return nil, errcode.Wrap(errcode.StorageFailed, err, "cannot store the output")
			}
			res.Path, res.Encodes, res.Args, res.Encoder = job.Output, attempt, args, p.encoder
			prog.done()
			return res, nil
		}
		next, ok := tighten(p, rs, st.Size())
		if !ok || attempt >= e.cfg.RateControlAttempts {
			return nil, errcode.Wrap(errcode.OutputTooLarge,
				errors.New(describeRate(rs)), "output.max_bytes: the output came to %d bytes with the lowest settings tried, over the ceiling of %d", st.Size(), p.maxBytes)
		}
		rs = next
	}
}

// verify measures the finished file from its container (without another
// ffprobe start-up, which would cost more than the engine's whole
// overhead budget): it must start with its format's signature, hold all
// the data its index names, and last as long as the source said it
// would. A source that ends early (a truncated upload whose header
// still claims the full length) or fails to decode is SOURCE_UNREADABLE.
// The Result reports what was measured, never what was planned.
func (e *Engine) verify(path string, p *plan, run ffmpegOutcome) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errcode.Wrap(errcode.FFmpegFailed, err, "ffmpeg wrote no output")
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
	if !m.DataComplete {
		return nil, errcode.New(errcode.FFmpegFailed, "the output is incomplete: its index names data the file does not hold")
	}
	// An animated GIF or WebP whose frames were all alike is written as
	// one still picture: nothing is missing from it.
	still := (p.format == "gif" || p.format == "webp") && m.Frames == 1
	if want := p.duration; want > 0 && !still && m.Duration < want-shortfallTolerance(p.fps) {
		why := ""
		if d := decodeErrors(run.stderr); d != "" {
			why = " (ffmpeg: " + d + ")"
		}
		code := errcode.SourceUnreadable
		if p.canvas != nil {
			code = errcode.FFmpegFailed // nothing of the user's was read
		}
		return nil, errcode.New(code, "source: the video ends after %.2f s of the %.2f s it declares; the file is truncated or damaged%s",
			m.Duration, want, why)
	}
	return &Result{Format: p.format, Width: m.Width, Height: m.Height, FPS: m.FPS,
		Duration: m.Duration, Bytes: m.Bytes, Frames: m.Frames, HasAudio: m.HasAudio, PeakRSSBytes: run.peakRSS}, nil
}

// shortfallTolerance is how much shorter than planned an output may be
// and still count as whole: two frames, and at least a tenth of a second
// for the muxer's rounding.
func shortfallTolerance(fps float64) float64 {
	if fps <= 0 {
		return 0.1
	}
	return max(0.1, 2/fps)
}

// decodeErrors are the lines of a finished ffmpeg's stderr (at loglevel
// error) that say a packet could not be read or decoded.
func decodeErrors(stderr string) string {
	if strings.TrimSpace(stderr) == "" {
		return ""
	}
	return explainFailure(stderr)
}

func hasSignature(format string, h []byte) bool {
	switch format {
	case "mp4":
		return len(h) >= 8 && string(h[4:8]) == "ftyp"
	case "webm":
		return len(h) >= 4 && string(h[:4]) == "\x1a\x45\xdf\xa3"
	case "gif":
		return len(h) >= 6 && (string(h[:6]) == "GIF89a" || string(h[:6]) == "GIF87a")
	case "webp":
		return len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "WEBP"
	case "png":
		return len(h) >= 8 && string(h[:8]) == "\x89PNG\r\n\x1a\n"
	case "jpg":
		return len(h) >= 3 && string(h[:3]) == "\xff\xd8\xff" // SOI, then a marker
	}
	return len(h) > 0
}

// runFFmpeg runs one ffmpeg process in its own process group, reports
// progress from -progress, and on cancellation kills the whole group at
// once. A timeout is FFMPEG_TIMEOUT; the caller's cancellation is CANCELED.
func (e *Engine) runFFmpeg(ctx context.Context, args []string, duration float64, progress func(float64)) (run ffmpegOutcome, err error) {
	ctx, end := traceFFmpeg(ctx, args, duration) // a span per ffmpeg process, inside a trace
	defer func() { end(run, err) }()
	runCtx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, e.cfg.FFmpeg, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return run, errcode.Wrap(errcode.Internal, err, "ffmpeg pipe")
	}
	if err := cmd.Start(); err != nil {
		return run, errcode.Wrap(errcode.EncoderUnavailable, err, "cannot start ffmpeg")
	}
	parseProgress(stdout, duration, progress)
	err = cmd.Wait()
	run = ffmpegOutcome{peakRSS: peakRSS(cmd), stderr: stderr.String()}
	if ps := cmd.ProcessState; ps != nil {
		run.cpu = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	switch {
	case ctx.Err() != nil:
		return run, errcode.Wrap(errcode.Canceled, ctx.Err(), "the render was canceled")
	case runCtx.Err() != nil:
		return run, errcode.Wrap(errcode.FFmpegTimeout, runCtx.Err(), "ffmpeg ran past %s", e.cfg.Timeout)
	case err != nil:
		return run, errcode.Wrap(errcode.FFmpegFailed, errors.New(run.stderr), "ffmpeg failed: %s", explainFailure(run.stderr))
	}
	return run, nil
}

// ffmpegOutcome is what one finished ffmpeg process left behind.
type ffmpegOutcome struct {
	peakRSS int64   // bytes
	stderr  string  // its last 8 KiB: decode errors even when it succeeded
	cpu     float64 // seconds of CPU time, user and system
}

// peakRSS is the most memory the finished process held, in bytes.
func peakRSS(cmd *exec.Cmd) int64 {
	if cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10 // kilobytes on Linux
	}
	return 0
}

// parseProgress reads ffmpeg's key=value progress blocks until EOF.
func parseProgress(r io.Reader, duration float64, report func(float64)) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || report == nil || duration <= 0 {
			continue
		}
		switch k {
		case "out_time_us", "out_time_ms": // both are microseconds
			us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil && us >= 0 {
				report(min(1, float64(us)/1e6/duration))
			}
		case "progress":
			if v == "end" {
				report(1)
			}
		}
	}
}

// progress spreads attempts over 0..1 and keeps the reported value rising.
type progress struct {
	mu     sync.Mutex
	fn     func(float64)
	last   float64
	slices int
}

func newProgress(fn func(float64), attempts int) *progress {
	return &progress{fn: fn, slices: attempts}
}

// attempt returns the reporter for encode n: the first gets 0..0.97 (the
// common case), later ones share what is left.
func (p *progress) attempt(n int) func(float64) {
	lo, hi := 0.0, 0.97
	if n > 1 {
		lo = p.last
		hi = lo + (0.99-lo)/2
	}
	return func(f float64) { p.report(lo + (hi-lo)*f) }
}

func (p *progress) report(f float64) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if f <= p.last {
		return
	}
	p.last = f
	p.fn(f)
}

func (p *progress) done() { p.report(1) }

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if t.b.Len() > 8192 {
		keep := t.b.Bytes()[t.b.Len()-8192:]
		t.b = *bytes.NewBuffer(append([]byte(nil), keep...))
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(t.b.String())
}
