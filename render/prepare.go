package render

import (
	"context"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/animwebp"
	"github.com/stickerd/stickerd/render/builtin"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/motion"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/render/text"
)

// plan is a job with every input resolved to a local, probed file and
// every default that depends on the source decided. compile turns it into
// ffmpeg arguments without touching the filesystem.
type plan struct {
	sourcePath string // empty for a canvas
	canvas     *spec.Source
	source     media.Info // for a canvas: its size, fps and duration
	alpha      bool       // keep an alpha channel (canvas with alpha, webm/webp)
	width      int
	height     int
	fps        float64
	duration   float64
	format     string
	quality    string
	audio      bool // map the source's audio
	maxBytes   int64
	layers     []layer
	encoder    EncoderChoice
	chain      string // ChainGPUComposite*, or "" and ChainCPU: composited on the CPU (gpu_chain.go)
	threads    int
	workDir    string
	// window, when set, narrows the render to one part of a Plan
	// (RenderPart): video only, to an MPEG-TS file.
	window *partWindow
}

// partWindow is the part of a plan one ffmpeg run renders.
type partWindow struct {
	part Part
	// video, for a smart plan, holds the source's coding parameters the
	// part reproduces; nil: the job's own output settings.
	video *VideoParams
	// upTo, for a snapshot of a video, is the time whose frame is kept:
	// the last one starting at or before it (snapshot.go).
	upTo float64
}

// layer is one sticker, ready to draw.
type layer struct {
	index      int
	draw       *drawText // plain text drawn by ffmpeg's drawtext; nil: an image input
	path       string
	info       media.Info
	loop       bool
	start, end float64 // output time window, seconds
	props      motion.Props
}

func (e *Engine) prepare(ctx context.Context, job Job, work string) (*plan, error) {
	s := job.Spec
	p := &plan{format: s.Output.Format, quality: s.Output.Quality, maxBytes: s.Output.MaxBytes,
		threads: e.cfg.Threads, workDir: work}
	if err := e.prepareSource(ctx, job, p); err != nil {
		return nil, err
	}
	var fe *errcode.FieldError
	if p.width, p.height, fe = spec.OutputSize(s.Output, p.source.Width, p.source.Height); fe != nil {
		return nil, &errcode.Error{Code: errcode.SpecInvalid, Message: fe.Field + ": " + fe.Message, Fields: []errcode.FieldError{*fe}}
	}
	p.fps = spec.Value(s.Output.FPS, p.source.FPS)
	switch {
	case p.fps <= 0:
		p.fps = 30 // the source does not say: the contract's canvas default
	case p.fps > spec.MaxFPS:
		p.fps = spec.MaxFPS // a 120 fps phone clip is shown at 60
	}
	p.duration = p.source.Duration
	if p.duration > e.cfg.Limits.MaxDuration {
		return nil, errcode.New(errcode.AssetTooLarge, "source: %.1f seconds long, at most %g", p.duration, e.cfg.Limits.MaxDuration)
	}
	p.audio = s.Output.AudioEnabled() && p.source.HasAudio && (p.format == spec.FormatMP4 || p.format == spec.FormatWebM)
	p.encoder = e.caps.chooseVideoEncoder(p.format)
	for i := range s.Stickers {
		l, err := e.prepareLayer(ctx, job, p, i)
		if err != nil {
			return nil, err
		}
		p.layers = append(p.layers, l)
	}
	if err := checkWork(p, e.cfg.Limits); err != nil {
		return nil, err
	}
	return p, nil
}

func (e *Engine) prepareSource(ctx context.Context, job Job, p *plan) error {
	src := job.Spec.Source
	if src.IsCanvas() {
		c := src
		p.canvas = &c
		p.source = media.Info{Kind: media.KindVideo, Width: src.Width, Height: src.Height,
			Duration: src.Duration, FPS: spec.Value(src.FPS, spec.DefaultCanvasFPS)}
		p.alpha = spec.ParseColor(src.Color).A < 255 && (p.format == spec.FormatWebM || p.format == spec.FormatWebP || p.format == spec.FormatPNG)
		return nil
	}
	path, err := job.Resolver.Resolve(ctx, AssetRef{Field: "source", AssetID: src.AssetID, URL: src.URL, Path: src.Path})
	if err != nil {
		return err
	}
	info, err := e.prober.Probe(ctx, path, errcode.SourceUnreadable)
	if err != nil {
		return withField(err, "source")
	}
	if info.Kind != media.KindVideo {
		return errcode.New(errcode.SourceUnreadable, "source: %s is not a video; use a blank canvas source for stickers alone", describeKind(info.Kind))
	}
	p.sourcePath, p.source = path, info
	return nil
}

func (e *Engine) prepareLayer(ctx context.Context, job Job, p *plan, i int) (layer, error) {
	st := job.Spec.Stickers[i]
	field := fmt.Sprintf("stickers[%d]", i)
	l := layer{index: i, loop: st.Loops(), start: spec.Value(st.Start, 0)}
	l.end = math.Min(spec.Value(st.End, p.duration), p.duration)
	if l.start >= p.duration {
		return l, errcode.New(errcode.SpecInvalid, "%s.start: %g s is not before the end of the source (%g s)", field, l.start, p.duration)
	}
	var err error
	switch {
	case st.Type == spec.TypeText && plainText(st):
		l.draw, err = e.prepareDrawText(p, st, i)
		if err != nil {
			return l, err
		}
		l.props = motion.Build(st, 0, l.end-l.start)
		return l, nil
	case st.Type == spec.TypeText:
		l.path, l.info, err = e.renderText(ctx, job, p, st, field, i)
	default:
		l.path, l.info, err = e.imageLayer(ctx, job, p, st, field, i)
	}
	if err != nil {
		return l, err
	}
	natural := float64(l.info.Width) / float64(p.width)
	l.props = motion.Build(st, natural, l.end-l.start)
	return l, nil
}

func (e *Engine) renderText(ctx context.Context, job Job, p *plan, st spec.Sticker, field string, i int) (string, media.Info, error) {
	font := st.Font
	if len(font) > 4 && font[:4] == "ast_" || (font != "sans" && font != "serif" && font != "mono") {
		path, err := job.Resolver.Resolve(ctx, AssetRef{Field: field + ".font", AssetID: assetID(font), Path: localPath(font)})
		if err != nil {
			return "", media.Info{}, err
		}
		font = path
	}
	style := text.Style{
		Font:          font,
		HeightPx:      spec.Value(st.Size, spec.DefaultTextSize) * float64(p.height),
		Color:         spec.ParseColor(st.Color),
		StrokeWidthPx: spec.Value(st.StrokeWidth, 0) * float64(p.height),
	}
	if st.StrokeColor != "" {
		style.StrokeColor = spec.ParseColor(st.StrokeColor)
	} else if style.StrokeWidthPx > 0 {
		style.StrokeColor = spec.ParseColor("#000000")
	}
	if st.Background != "" {
		style.Background = spec.ParseColor(st.Background)
	}
	img, err := text.Render(st.Text, style)
	if err != nil {
		code := errcode.SpecInvalid
		if isFontErr(err) {
			code = errcode.AssetUnsupported
		}
		return "", media.Info{}, errcode.Wrap(code, err, "%s.text: %v", field, err)
	}
	path := filepath.Join(p.workDir, fmt.Sprintf("text-%d.png", i))
	f, err := os.Create(path)
	if err != nil {
		return "", media.Info{}, errcode.Wrap(errcode.StorageFailed, err, "writing a text layer")
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return "", media.Info{}, errcode.Wrap(errcode.StorageFailed, err, "writing a text layer")
	}
	if err := f.Close(); err != nil {
		return "", media.Info{}, errcode.Wrap(errcode.StorageFailed, err, "writing a text layer")
	}
	b := img.Bounds()
	return path, media.Info{Kind: media.KindImage, Width: b.Dx(), Height: b.Dy(), Frames: 1, HasAlpha: true}, nil
}

func (e *Engine) imageLayer(ctx context.Context, job Job, p *plan, st spec.Sticker, field string, i int) (string, media.Info, error) {
	var path string
	var err error
	if st.Builtin != "" {
		path, err = builtin.Path(e.cfg.CacheDir, st.Builtin)
		if err != nil {
			return "", media.Info{}, errcode.Wrap(errcode.AssetNotFound, err, "%s.builtin: %v", field, err)
		}
	} else {
		path, err = job.Resolver.Resolve(ctx, AssetRef{Field: field, AssetID: st.AssetID, URL: st.URL, Path: st.Path})
		if err != nil {
			return "", media.Info{}, err
		}
	}
	info, err := e.prober.Probe(ctx, path, errcode.AssetUnsupported)
	if err != nil {
		return "", media.Info{}, withField(err, field)
	}
	if info.Kind == media.KindVideo {
		return "", media.Info{}, errcode.New(errcode.AssetUnsupported, "%s: a video cannot be a sticker; use PNG, JPEG, WebP, GIF or APNG", field)
	}
	if info.Orientation > 1 {
		// Turned upright in Go: ffmpeg versions disagree on whether they
		// apply EXIF orientation, and the size above is the upright one.
		out := filepath.Join(p.workDir, fmt.Sprintf("sticker-%d.png", i))
		if err := media.UprightJPEG(path, out, info.Orientation); err != nil {
			return "", media.Info{}, errcode.Wrap(errcode.AssetUnsupported, err, "%s: not a readable JPEG", field)
		}
		info.Container, info.Codec, info.Orientation = "png", "png", 0
		return out, info, nil
	}
	if info.Container == "webp" && info.Kind == media.KindAnimated {
		// ffmpeg 5 cannot decode animated WebP: convert it to APNG in Go.
		return e.convertWebP(path, p.workDir, field, i, info)
	}
	return path, info, nil
}

func (e *Engine) convertWebP(path, work, field string, i int, info media.Info) (string, media.Info, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", media.Info{}, errcode.Wrap(errcode.AssetUnsupported, err, "%s: cannot open", field)
	}
	defer in.Close()
	out := filepath.Join(work, fmt.Sprintf("sticker-%d.apng", i))
	f, err := os.Create(out)
	if err != nil {
		return "", media.Info{}, errcode.Wrap(errcode.StorageFailed, err, "converting an animated WebP")
	}
	lim := animwebp.Limits{MaxWidth: e.cfg.Limits.MaxWidth, MaxHeight: e.cfg.Limits.MaxWidth,
		MaxFrames: e.cfg.Limits.MaxFrames, MaxPixels: e.cfg.Limits.MaxFramePixels}
	_, err = animwebp.ConvertToAPNG(in, f, lim)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		code := errcode.AssetUnsupported
		if isTooLarge(err) {
			code = errcode.AssetTooLarge
		}
		return "", media.Info{}, errcode.Wrap(code, err, "%s: %v", field, err)
	}
	info.Container, info.Codec = "apng", "apng"
	return out, info, nil
}

// withField prefixes a typed error's message with the spec field it is about.
func withField(err error, field string) error {
	if e, ok := err.(*errcode.Error); ok {
		c := *e
		c.Message = field + ": " + e.Message
		c.Fields = append(c.Fields, errcode.FieldError{Field: field, Message: e.Message})
		return &c
	}
	return err
}

func assetID(s string) string {
	if len(s) > 4 && s[:4] == "ast_" {
		return s
	}
	return ""
}

func localPath(s string) string {
	if assetID(s) != "" {
		return ""
	}
	return s
}

// describeKind names a kind of media with its article, for messages.
func describeKind(k media.Kind) string {
	switch k {
	case media.KindImage:
		return "an image"
	case media.KindAnimated:
		return "an animated image"
	}
	return "a " + string(k)
}
