package render

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/motion"
)

// gpuMinPixels is the smallest output the GPU chains take: below 1280×720
// a render is over before a CUDA context and the decoder's surfaces have
// paid for themselves, and the CPU composites it as fast.
const gpuMinPixels = 1280 * 720

// gpuDevice names the CUDA device in the ffmpeg command: the decoder,
// hwupload and the CUDA filters must share one device (one context).
const gpuDevice = "gpu"

// nvdecCodecs are the source codecs every NVDEC since Turing decodes.
// Anything else would come out of the decoder in system memory, where the
// CUDA filters cannot take it.
var nvdecCodecs = map[string]bool{"h264": true, "hevc": true, "vp9": true, "av1": true}

// gpuChainFor says which chain a whole render of p takes on this machine:
// a GPU chain that passed its trial, or ChainCPU with the reason.
func (c Capabilities) gpuChainFor(p *plan) (string, string) {
	if len(c.GPUChains) == 0 {
		why := "no GPU chain passed its trial"
		switch {
		case c.GPUChainDetail != "":
			why += " (" + c.GPUChainDetail + ")"
		case c.GPU == GPUNone || c.GPU == GPUBroken || c.GPU == "":
			why = "no usable GPU"
			if c.GPUDetail != "" {
				why += " (" + c.GPUDetail + ")"
			}
		}
		return ChainCPU, why
	}
	if why := gpuRefusal(p); why != "" {
		return ChainCPU, why
	}
	if p.encoder.Name == "h264_nvenc" && c.HasChain(ChainGPUCompositeNVENC) {
		return ChainGPUCompositeNVENC, ""
	}
	if c.HasChain(ChainGPUComposite) {
		return ChainGPUComposite, ""
	}
	return ChainCPU, p.encoder.Name + " cannot take CUDA frames and the download chain failed its trial (" + c.GPUChainDetail + ")"
}

// gpuRefusal says why this job cannot take a GPU chain (whatever the
// machine), or "".
func gpuRefusal(p *plan) string {
	switch {
	case p.window != nil:
		return "a part of a planned render: parts from different workers must be composited alike"
	case p.canvas != nil:
		return "a blank canvas has nothing to decode on the GPU"
	case p.alpha:
		return "the output keeps an alpha channel, which overlay_cuda cannot blend onto"
	case p.source.Rotation != 0:
		return "the source has a display rotation, which ffmpeg applies with CPU filters"
	case !nvdecCodecs[p.source.Codec]:
		return fmt.Sprintf("NVDEC is not used for %q sources", p.source.Codec)
	case p.width*p.height < gpuMinPixels:
		return fmt.Sprintf("a %dx%d output is composited as fast on the CPU", p.width, p.height)
	case reshapes(p):
		return "the output's shape differs from the source's, and ffmpeg has no CUDA pad filter"
	}
	for _, l := range p.layers {
		if !l.props.Width.IsConstant() {
			return fmt.Sprintf("stickers[%d] changes size, and overlay_cuda takes frames of one size", l.index)
		}
	}
	return ""
}

// reshapes reports whether the source is fitted into the output with
// padding (another aspect ratio), as sourceStream does.
func reshapes(p *plan) bool {
	return math.Abs(float64(p.width)/float64(p.height)-float64(p.source.Width)/float64(p.source.Height)) > 0.01
}

// gpuPlan returns p ready for the GPU chain this machine and job allow,
// or nil and the reason the render stays on the CPU. Text that drawtext
// would draw onto the frame is rasterised as a picture instead (drawtext
// has no CUDA twin), into a copy of the plan, so the CPU chain can still
// render p as it was.
func (e *Engine) gpuPlan(ctx context.Context, job Job, p *plan) (*plan, string) {
	chain, why := e.caps.gpuChainFor(p)
	if chain == ChainCPU {
		return nil, why
	}
	g := *p
	g.layers = slices.Clone(p.layers)
	for i, l := range g.layers {
		if l.draw == nil {
			continue
		}
		st := job.Spec.Stickers[l.index]
		path, info, err := e.renderText(ctx, job, &g, st, fmt.Sprintf("stickers[%d]", l.index), l.index)
		if err != nil {
			return nil, "stickers[" + strconv.Itoa(l.index) + "]: its text could not be rasterised for the GPU chain: " + err.Error()
		}
		l.draw, l.path, l.info = nil, path, info
		l.props = motion.Build(st, float64(info.Width)/float64(g.width), l.end-l.start)
		g.layers[i] = l
	}
	g.chain = chain
	g.encoder.Chain = chain
	g.encoder.ChainReason = fmt.Sprintf("decoded, scaled and composited on the GPU (%s); %s", e.caps.GPUName, downloadNote(chain, g.encoder.Name))
	return &g, ""
}

func downloadNote(chain, encoder string) string {
	if chain == ChainGPUCompositeNVENC {
		return "NVENC encodes the CUDA frames"
	}
	return "each frame downloaded once for " + encoder
}

// encode renders a whole job (one ffmpeg, no plan parts): on a GPU chain
// when the machine passed its trial and the job allows it, else on the
// CPU. A GPU run that fails is rendered again on the CPU, so the GPU can
// cost a job time but never the job; the encoder's chain_reason says so.
func (e *Engine) encode(ctx context.Context, p *plan, job Job) (*Result, error) {
	if p.window != nil {
		return e.encodeChain(ctx, p, job)
	}
	g, why := e.gpuPlan(ctx, job, p)
	if g == nil {
		p.encoder.Chain, p.encoder.ChainReason = ChainCPU, why
		return e.encodeChain(ctx, p, job)
	}
	res, err := e.encodeChain(ctx, g, job)
	if err == nil || ctx.Err() != nil || !gpuFault(err) {
		return res, err
	}
	p.encoder.Chain = ChainCPU
	p.encoder.ChainReason = "the " + g.chain + " chain failed (" + lastLine(failureMessage(err)) + "); rendered again on the CPU"
	return e.encodeChain(ctx, p, job)
}

// failureMessage is a failed render's message without its cause (ffmpeg's
// whole stderr).
func failureMessage(err error) string {
	var e *errcode.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// gpuFault reports whether a failed GPU render is worth doing again on the
// CPU: ffmpeg failed, or its output came out short (a decoder that gave
// up), either of which the CPU chain may not share.
func gpuFault(err error) bool {
	switch errcode.Of(err) {
	case errcode.FFmpegFailed, errcode.SourceUnreadable:
		return true
	}
	return false
}

// compileGPU is compile for a plan on a GPU chain: the source decoded
// into CUDA frames and scaled there, each sticker prepared on the CPU as
// compile prepares it, padded to even sides and uploaded, overlay_cuda
// for each, and the frames either handed to NVENC as they are or
// downloaded once before the encoder.
func compileGPU(p *plan, rs rateSettings, out string) ([]string, error) {
	main, src := gpuSourceStream(p)
	inputs := map[string]*ffmpeg.Node{}
	counts := map[string]int{}
	for _, l := range p.layers {
		counts[inputKey(p, l)]++
	}
	used := map[string]int{}
	for _, l := range p.layers {
		if l.draw != nil {
			return nil, fmt.Errorf("render: stickers[%d] is drawtext text on the %s chain", l.index, p.chain)
		}
		st, err := layerStream(p, l, inputs, counts, used)
		if err != nil {
			return nil, err
		}
		main = gpuOverlay(p, main, upload(st), l)
	}
	if p.chain != ChainGPUCompositeNVENC {
		main = main.Filter("hwdownload", nil).Filter("format", nil, ffmpeg.KwArgs{"pix_fmts": "yuv420p"})
	}
	video := finalVideo(p, main, rs)
	streams := []*ffmpeg.Stream{video}
	if p.audio {
		streams = append(streams, audioStream(p, src))
	}
	kw := outputArgs(p, rs)
	if p.chain == ChainGPUCompositeNVENC {
		// NVENC reads the CUDA frames as they are (yuv420p inside); a
		// -pix_fmt would ask for a conversion ffmpeg cannot make on them.
		delete(kw, "pix_fmt")
	}
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
		"-init_hw_device", "cuda=" + gpuDevice, "-filter_hw_device", gpuDevice}
	if p.threads > 0 {
		args = append(args, "-filter_complex_threads", strconv.Itoa(p.threads))
	}
	return append(args, ffmpeg.Output(streams, out, kw).GetArgs()...), nil
}

// gpuSourceStream decodes the source with NVDEC into CUDA frames and
// scales them there, converting NV12 to the yuv420p overlay_cuda blends
// onto (it blends YUVA onto yuv420p only).
func gpuSourceStream(p *plan) (*ffmpeg.Stream, *ffmpeg.Stream) {
	kw := ffmpeg.KwArgs{"hwaccel": "cuda", "hwaccel_device": gpuDevice, "hwaccel_output_format": "cuda"}
	if p.threads > 0 {
		kw["threads"] = p.threads
	}
	in := ffmpeg.Input(media.FileURL(p.sourcePath), guard(media.VideoFormats, kw))
	sc := ffmpeg.KwArgs{"w": p.width, "h": p.height, "format": "yuv420p"}
	resized := p.width != p.source.Width || p.height != p.source.Height
	if resized {
		sc["interp_algo"] = "bicubic" // as the CPU chain's scale
	}
	v := in.Get("v:0").Filter("scale_cuda", nil, sc)
	if resized {
		v = v.Filter("setsar", nil, ffmpeg.KwArgs{"sar": "1"})
	}
	if math.Abs(p.fps-p.source.FPS) > 0.01 || p.source.VariableRate {
		v = v.Filter("fps", nil, ffmpeg.KwArgs{"fps": num(p.fps)})
	}
	return v, in
}

// upload pads a prepared sticker to even sides (transparent), so its
// 4:2:0 chroma covers it exactly, and uploads it in the one format with
// alpha overlay_cuda blends.
func upload(s *ffmpeg.Stream) *ffmpeg.Stream {
	s = s.Filter("pad", nil, ffmpeg.KwArgs{"w": "ceil(iw/2)*2", "h": "ceil(ih/2)*2", "color": "black@0"})
	s = s.Filter("format", nil, ffmpeg.KwArgs{"pix_fmts": "yuva420p"})
	return s.Filter("hwupload", nil)
}

// gpuOverlay is overlay for the GPU chain. overlay_cuda has no timeline
// (enable) option, so outside its window the sticker is placed wholly off
// the frame, where the kernel draws nothing.
func gpuOverlay(p *plan, main, st *ffmpeg.Stream, l layer) *ffmpeg.Stream {
	tv := "t"
	if l.start > 0 {
		tv = "(t-" + num(l.start) + ")"
	}
	x := "(" + l.props.X.Expr(tv) + ")*W-w/2"
	if l.start > 0 || l.end < p.duration {
		x = "if(gte(t," + num(l.start) + ")*lt(t," + num(l.end) + ")," + x + ",-65536)"
	}
	kw := ffmpeg.KwArgs{"x": x, "y": "(" + l.props.Y.Expr(tv) + ")*H-h/2", "eof_action": "repeat"}
	return ffmpeg.Filter([]*ffmpeg.Stream{main, st}, "overlay_cuda", nil, kw)
}
