package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/spec"
)

// AssetRef names one file a spec refers to. Exactly one of AssetID, URL
// and Path is set; Field is the JSON path, for errors.
type AssetRef struct {
	Field   string
	AssetID string
	URL     string
	Path    string
}

// Resolver turns asset references into local files. The gateway's worker
// resolves asset ids from the blob store and fetches URLs; the local CLI
// resolves paths.
type Resolver interface {
	Resolve(ctx context.Context, ref AssetRef) (string, error)
}

// Job is one render.
type Job struct {
	Spec     *spec.Spec // parsed by spec.Parse: valid, defaults applied
	Resolver Resolver
	Output   string // where the finished file goes; nothing is left there on failure
	// Progress, when set, receives the fraction done (0..1), monotonically.
	Progress func(fraction float64)
}

// Result describes the finished output, as measured from the written
// file.
type Result struct {
	Path     string  `json:"-"`
	Format   string  `json:"format"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	FPS      float64 `json:"fps"`
	Duration float64 `json:"duration"`
	Bytes    int64   `json:"bytes"`
	Frames   int     `json:"frames"`
	HasAudio bool    `json:"has_audio"`
	// PeakRSSBytes is the most memory the final ffmpeg run held.
	PeakRSSBytes int64         `json:"peak_rss_bytes,omitempty"`
	Encoder      EncoderChoice `json:"encoder"`
	Encodes      int           `json:"encodes"` // ffmpeg encodes: attempts at max_bytes, or a plan's parts
	Args         []string      `json:"-"`       // the last ffmpeg command line, for logs and tests
	// Plan is how the job was rendered (Mode full, smart or split) and,
	// when it was not smart or not split, why.
	Plan *Plan `json:"plan"`
}

// Engine renders jobs. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	caps   Capabilities
	prober media.Prober
}

// New validates cfg, makes sure WorkDir and CacheDir are private to this
// user (see Config.CacheDir), probes the ffmpeg build and the GPU (or
// reads the probe remembered in CacheDir from an earlier run with the
// same binaries), and returns an engine.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, bin := range []string{cfg.FFmpeg, cfg.FFprobe} {
		if _, err := lookPath(bin); err != nil {
			return nil, errcode.Wrap(errcode.EncoderUnavailable, err, "%s is not installed (apt-get install ffmpeg)", bin)
		}
	}
	for _, d := range []string{cfg.WorkDir, cfg.CacheDir} {
		if err := privateDir(d); err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
	}
	e := &Engine{cfg: cfg, prober: media.Prober{FFprobe: cfg.FFprobe, Limits: cfg.Limits, Cache: media.NewCache(256)}}
	e.caps = cachedCapabilities(ctx, cfg)
	if !e.caps.Has("libx264") {
		return nil, errcode.New(errcode.EncoderUnavailable, "this ffmpeg has no libx264 encoder")
	}
	return e, nil
}

// Capabilities returns what New detected.
func (e *Engine) Capabilities() Capabilities { return e.caps }

// Prober returns the engine's prober, configured with its limits.
func (e *Engine) Prober() media.Prober { return e.prober }

// Encoder says which encoder a spec's output format gets on this machine.
func (e *Engine) Encoder(format string) EncoderChoice { return e.caps.chooseVideoEncoder(format) }

// Render runs job to completion on this machine. It plans first: where
// stickers leave stretches of an H.264 MP4 source untouched, those are
// copied packet for packet and only the rest is encoded (Plan, RenderPart
// and Stitch, the same steps a burst across workers takes); otherwise,
// or with output.render_mode "full", one ffmpeg renders it whole. Errors
// are *errcode.Error: SPEC_INVALID, ASSET_* and SOURCE_UNREADABLE for
// inputs, FFMPEG_FAILED, FFMPEG_TIMEOUT, OUTPUT_TOO_LARGE,
// STORAGE_FAILED, and CANCELED when ctx ends.
func (e *Engine) Render(ctx context.Context, job Job) (*Result, error) {
	return e.RenderWith(ctx, job, PlanOptions{Workers: 1})
}

// RenderWith is Render planned with opt: with opt.Workers > 1 a long
// render is split, and its parts are rendered concurrently by up to that
// many in-process workers (each ffmpeg with Config.Threads threads), then
// stitched, as a burst across machines would.
func (e *Engine) RenderWith(ctx context.Context, job Job, opt PlanOptions) (*Result, error) {
	if job.Spec == nil || job.Output == "" {
		return nil, errors.New("render: Job needs a Spec and an Output path")
	}
	work, err := os.MkdirTemp(e.cfg.WorkDir, "job-")
	if err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "cannot create a work folder")
	}
	defer os.RemoveAll(work)

	p, err := e.prepare(ctx, job, work)
	if err != nil {
		return nil, err
	}
	pl, err := e.makePlan(ctx, job.Spec, p, opt)
	if err != nil {
		return nil, err
	}
	if pl.Mode == ModeSnapshot {
		return e.renderSnapshot(ctx, job, p, pl) // snapshot.go
	}
	if pl.Mode == ModeFull {
		res, err := e.encode(ctx, p, job)
		if err != nil {
			return nil, err
		}
		res.Plan = pl
		return res, nil
	}
	return e.renderPlan(ctx, job, p, pl)
}

// renderPlan renders a smart or split plan's parts, Plan.Workers at once,
// and stitches them. Progress: the parts take 90%, by their weights.
func (e *Engine) renderPlan(ctx context.Context, job Job, p *plan, pl *Plan) (*Result, error) {
	prog := newProgress(job.Progress, 1)
	var mu sync.Mutex
	done := make([]float64, len(pl.Parts))
	report := func(i int) func(float64) {
		return func(f float64) {
			mu.Lock()
			done[i] = f * pl.Parts[i].Weight
			total := 0.0
			for _, d := range done {
				total += d
			}
			mu.Unlock()
			prog.report(0.9 * total)
		}
	}
	files := make([]string, len(pl.Parts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, pl.Workers))
	for i := range pl.Parts {
		files[i] = filepath.Join(p.workDir, fmt.Sprintf("part-%05d%s", i, PartExt))
		g.Go(func() error {
			_, err := e.renderPart(gctx, p, pl, i, files[i], report(i))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, errcode.Wrap(errcode.Canceled, ctx.Err(), "the render was canceled")
		}
		if errcode.Of(err) == errcode.FFmpegFailed {
			// A part came out other than planned (not the inputs' fault):
			// the whole render does not depend on the part's exactness.
			return e.fallBack(ctx, job, p, pl, err, func(f float64) { prog.report(0.9 + 0.1*f) })
		}
		return nil, err
	}
	return e.stitch(ctx, job, p, pl, files, func(f float64) { prog.report(0.9 + 0.1*f) })
}

// partialPath is where ffmpeg writes before the result is verified and
// renamed into place, so no partial file ever appears at Output.
func partialPath(out string) string {
	dir, base := filepath.Split(out)
	return filepath.Join(dir, "."+strings.TrimPrefix(base, ".")+".partial")
}
