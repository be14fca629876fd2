package render

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/stickerd/stickerd/render/media"
	"github.com/stickerd/stickerd/render/motion"
	"github.com/stickerd/stickerd/render/spec"
)

// maxLoopBytes bounds the frames a looping sticker keeps in memory.
const maxLoopBytes = 256 << 20

// num formats a number for an ffmpeg option or expression.
var num = motion.Num

// compile turns a plan and rate settings into ffmpeg's arguments (without
// the binary). Every value in the filter graph is a number, an expression
// built from numbers, or a path the engine chose; ffmpeg-go escapes the
// graph. User text never gets here: text stickers arrive as PNG files.
func compile(p *plan, rs rateSettings, out string) ([]string, error) {
	if p.chain != "" && p.chain != ChainCPU {
		return compileGPU(p, rs, out) // gpu_chain.go
	}
	main, src := sourceStream(p)
	inputs := map[string]*ffmpeg.Node{} // shared inputs need a split
	counts := map[string]int{}
	for _, l := range p.layers {
		if l.draw == nil {
			counts[inputKey(p, l)]++
		}
	}
	used := map[string]int{}
	for _, l := range p.layers {
		if l.draw != nil {
			main = drawTextOn(p, main, l)
			continue
		}
		st, err := layerStream(p, l, inputs, counts, used)
		if err != nil {
			return nil, err
		}
		main = overlay(p, main, st, l)
	}
	video := finalVideo(p, main, rs)
	streams := []*ffmpeg.Stream{video}
	if p.audio && p.window == nil {
		streams = append(streams, audioStream(p, src))
	}
	kw := outputArgs(p, rs)
	// Global options go first: ffmpeg-go would append them after the
	// output, where ffmpeg warns that trailing options may be ignored.
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats", "-progress", "pipe:1"}
	if p.threads > 0 {
		args = append(args, "-filter_complex_threads", strconv.Itoa(p.threads))
	}
	if p.window != nil {
		video = partVideo(p, video)
		streams = []*ffmpeg.Stream{video}
		kw = partOutputArgs(p)
		if p.snapshot() {
			video, kw = snapshotOutput(p, video) // snapshot.go: one frame to a picture
			streams = []*ffmpeg.Stream{video}
		}
		// Keep the source's timestamps (less a file's start, as a whole
		// render does), so the filters' t is the same as in a whole
		// render and the part lands where it belongs on the timeline. A
		// canvas part's frames are numbered from the part's start by the
		// input graph itself.
		args = append(args, "-copyts")
		if p.canvas == nil {
			args = append(args, "-start_at_zero")
		}
	}
	return append(args, ffmpeg.Output(streams, out, kw).GetArgs()...), nil
}

// sourceStream is the background scaled to the output size and rate.
func sourceStream(p *plan) (*ffmpeg.Stream, *ffmpeg.Stream) {
	var in *ffmpeg.Stream
	if p.canvas != nil {
		c := spec.ParseColor(p.canvas.Color)
		lavfi := fmt.Sprintf("color=c=0x%02X%02X%02X@%s:s=%dx%d:r=%s:d=%s", c.R, c.G, c.B,
			num(float64(c.A)/255), p.canvas.Width, p.canvas.Height, num(p.source.FPS), num(p.canvas.Duration))
		if p.window != nil {
			// A part of a canvas: its frames, numbered from the part's
			// first (the color source counts frames in its time base),
			// as many as -frames:v takes.
			lavfi = fmt.Sprintf("color=c=0x%02X%02X%02X@%s:s=%dx%d:r=%s,setpts=PTS+%d", c.R, c.G, c.B,
				num(float64(c.A)/255), p.canvas.Width, p.canvas.Height, num(p.source.FPS), p.window.part.FirstFrame)
		}
		if p.alpha {
			// The color source fills alpha only when it negotiates RGBA
			// itself, so ask for it inside the lavfi input graph.
			lavfi += ",format=rgba"
		}
		in = ffmpeg.Input(lavfi, ffmpeg.KwArgs{"f": "lavfi"})
	} else {
		kw := ffmpeg.KwArgs{}
		if p.threads > 0 {
			kw["threads"] = p.threads // the decoder's, as -threads after -i is the encoder's
		}
		if p.window != nil && p.window.part.SeekUS >= 0 {
			kw["ss"] = formatUS(p.window.part.SeekUS)
		}
		in = ffmpeg.Input(media.FileURL(p.sourcePath), guard(media.VideoFormats, kw))
	}
	v := in.Get("v:0")
	if p.alpha {
		v = v.Filter("format", nil, ffmpeg.KwArgs{"pix_fmts": "yuva420p"})
	}
	if p.width != p.source.Width || p.height != p.source.Height {
		if math.Abs(float64(p.width)/float64(p.height)-float64(p.source.Width)/float64(p.source.Height)) > 0.01 {
			// Another shape: fit inside and pad, with even sides both ways.
			v = v.Filter("scale", nil, ffmpeg.KwArgs{"w": p.width, "h": p.height, "force_original_aspect_ratio": "decrease",
				"force_divisible_by": 2})
			v = v.Filter("pad", nil, ffmpeg.KwArgs{"w": p.width, "h": p.height, "x": "(ow-iw)/2", "y": "(oh-ih)/2"})
		} else {
			// The same shape up to rounding (321x181 to 320x180): scale to
			// the exact size, since "decrease" would round a side down to
			// an odd number the encoder refuses.
			v = v.Filter("scale", nil, ffmpeg.KwArgs{"w": p.width, "h": p.height})
		}
		v = v.Filter("setsar", nil, ffmpeg.KwArgs{"sar": "1"})
	}
	// A variable-rate source is resampled even at its own average rate:
	// left alone, ffmpeg would emit its r_frame_rate (120 fps for a clip
	// mixing 24 and 30) by duplicating frames.
	// A snapshot shows the source's own frame, the one on screen at its
	// time, so nothing is resampled.
	if p.canvas == nil && !p.snapshot() && (math.Abs(p.fps-p.source.FPS) > 0.01 || p.source.VariableRate) {
		v = v.Filter("fps", nil, ffmpeg.KwArgs{"fps": num(p.fps)})
	}
	return v, in
}

// guard confines an input to the demuxers in formats, read through the
// file protocol only: a file that is really a playlist or a script
// naming other files is refused before anything it names is opened.
func guard(formats string, kw ...ffmpeg.KwArgs) ffmpeg.KwArgs {
	g := media.InputGuard(formats)
	out := ffmpeg.KwArgs{}
	for _, k := range kw {
		for n, v := range k {
			out[n] = v
		}
	}
	for i := 0; i+1 < len(g); i += 2 {
		out[strings.TrimPrefix(g[i], "-")] = g[i+1]
	}
	return out
}

// stickerInput opens a sticker picture with its demuxer named, so ffmpeg
// neither guesses from the bytes nor reads a name as a file pattern.
func stickerInput(p *plan, l layer) *ffmpeg.Stream {
	kw := inputArgs(p, l)
	switch l.info.Codec {
	case "gif":
		kw = guard("gif", kw, ffmpeg.KwArgs{"f": "gif"})
	case "apng":
		kw = guard("apng", kw, ffmpeg.KwArgs{"f": "apng"})
	default: // PNG and JPEG stills
		kw = guard("image2", kw, ffmpeg.KwArgs{"f": "image2", "pattern_type": "none"})
	}
	return ffmpeg.Input(media.FileURL(l.path), kw).Get("v:0")
}

func inputKey(p *plan, l layer) string {
	return l.path + "|" + strings.Join(ffmpeg.ConvertKwargsToCmdLineArgs(inputArgs(p, l)), " ")
}

// inputArgs chooses how a sticker file is read: one frame held by overlay
// when nothing changes over time, a frame stream at the output rate when
// something does, and a looped stream for looping animations.
func inputArgs(p *plan, l layer) ffmpeg.KwArgs {
	dur := num(l.end - l.start)
	switch {
	case l.info.Kind == media.KindAnimated:
		return ffmpeg.KwArgs{}
	case needsFrames(l.props):
		return ffmpeg.KwArgs{"loop": "1", "framerate": num(p.fps), "t": dur}
	}
	return ffmpeg.KwArgs{}
}

// needsFrames reports whether the sticker's own pixels change over time
// (size, rotation, opacity), so it must be a stream at the output rate;
// movement alone is done by overlay on one held frame.
func needsFrames(pr motion.Props) bool {
	return !pr.Width.IsConstant() || !pr.Rotation.IsConstant() || !pr.Opacity.IsConstant()
}

func layerStream(p *plan, l layer, inputs map[string]*ffmpeg.Node, counts, used map[string]int) (*ffmpeg.Stream, error) {
	key := inputKey(p, l)
	var s *ffmpeg.Stream
	if counts[key] > 1 {
		n, ok := inputs[key]
		if !ok {
			n = stickerInput(p, l).Split()
			inputs[key] = n
		}
		s = n.Get(strconv.Itoa(used[key]))
		used[key]++
	} else {
		s = stickerInput(p, l)
	}
	pr := l.props
	s = s.Filter("format", nil, ffmpeg.KwArgs{"pix_fmts": "rgba"})

	// Scale once to the largest width the sticker takes; animate below it.
	maxW := pr.Width.Max()
	bw, bh := stickerBox(p, l)
	if bw != l.info.Width || bh != l.info.Height {
		s = s.Filter("scale", nil, ffmpeg.KwArgs{"w": bw, "h": bh, "flags": "bicubic"})
	}
	if l.info.Kind == media.KindAnimated {
		if l.loop {
			// The loop filter keeps each frame's own delay; -stream_loop
			// restarts a GIF after its last frame's start, not its end.
			// Its memory was bounded by checkWork.
			s = s.Filter("loop", nil, ffmpeg.KwArgs{"loop": "-1", "size": max(1, l.info.Frames)})
			s = s.Filter("trim", nil, ffmpeg.KwArgs{"end": num(l.end - l.start)})
		}
		if needsFrames(pr) {
			s = s.Filter("fps", nil, ffmpeg.KwArgs{"fps": num(p.fps)})
		}
	}
	if rotates(l) {
		s = s.Filter("rotate", nil, ffmpeg.KwArgs{
			"a":  "(" + pr.Rotation.Expr("t") + ")*PI/180",
			"ow": "hypot(iw,ih)", "oh": "ow", "c": "none"})
	}
	switch {
	case !pr.Opacity.IsConstant():
		cmds, err := writeOpacityCommands(p, l)
		if err != nil {
			return nil, err
		}
		s = s.Filter("sendcmd", nil, ffmpeg.KwArgs{"f": cmds})
		s = s.Filter(opacityFilter(l), nil, ffmpeg.KwArgs{"aa": num(pr.Opacity.At(0))})
	case pr.Opacity[0].V < 1:
		s = s.Filter("colorchannelmixer", nil, ffmpeg.KwArgs{"aa": num(pr.Opacity[0].V)})
	}
	if !pr.Width.IsConstant() {
		// Convert to the overlay's format first: a format conversion that
		// ffmpeg inserts after a size-changing scale keeps the first
		// frame's size and would undo the animation.
		s = s.Filter("format", nil, ffmpeg.KwArgs{"pix_fmts": "yuva420p"})
		f := "(" + pr.Width.Expr("t") + ")/" + num(maxW)
		s = s.Filter("scale", nil, ffmpeg.KwArgs{"eval": "frame",
			"w": "max(1,round(iw*" + f + "))", "h": "max(1,round(ih*" + f + "))"})
	}
	if l.start > 0 {
		s = s.Filter("setpts", nil, ffmpeg.KwArgs{"expr": "PTS-STARTPTS+" + num(l.start) + "/TB"})
	}
	return s, nil
}

func opacityFilter(l layer) string { return fmt.Sprintf("colorchannelmixer@opacity%d", l.index) }

// writeOpacityCommands writes a sendcmd script that sets the sticker's
// alpha multiplier at every output frame of its life, since
// colorchannelmixer takes no time expression.
func writeOpacityCommands(p *plan, l layer) (string, error) {
	var b strings.Builder
	target := opacityFilter(l)
	last := math.NaN()
	n := int(math.Ceil((l.end - l.start) * p.fps))
	for i := 0; i <= n; i++ {
		t := float64(i) / p.fps
		v := math.Round(l.props.Opacity.At(t)*1000) / 1000
		if v == last {
			continue
		}
		last = v
		fmt.Fprintf(&b, "%s %s aa %s;\n", num(t), target, num(v))
	}
	path := filepath.Join(p.workDir, fmt.Sprintf("opacity-%d.cmd", l.index))
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// overlay draws a sticker centred on its (x, y) track during its window.
func overlay(p *plan, main, st *ffmpeg.Stream, l layer) *ffmpeg.Stream {
	tv := "t"
	if l.start > 0 {
		tv = "(t-" + num(l.start) + ")"
	}
	kw := ffmpeg.KwArgs{
		"x": "(" + l.props.X.Expr(tv) + ")*W-w/2",
		"y": "(" + l.props.Y.Expr(tv) + ")*H-h/2",
	}
	if l.start > 0 || l.end < p.duration {
		kw["enable"] = "gte(t," + num(l.start) + ")*lt(t," + num(l.end) + ")"
	}
	if p.alpha {
		kw["format"] = "auto"
	}
	return main.Overlay(st, "repeat", kw)
}

// drawTextOn draws a plain text sticker with drawtext, centred on its
// (x, y) track, with its opacity track as drawtext's alpha.
func drawTextOn(p *plan, main *ffmpeg.Stream, l layer) *ffmpeg.Stream {
	tv := "t"
	if l.start > 0 {
		tv = "(t-" + num(l.start) + ")"
	}
	d := l.draw
	kw := ffmpeg.KwArgs{
		"textfile": d.textFile, "expansion": "none", "fontfile": d.fontFile,
		"fontsize": d.sizePx, "fontcolor": d.color,
		"x": "(" + l.props.X.Expr(tv) + ")*w-tw/2",
		"y": "(" + l.props.Y.Expr(tv) + ")*h-th/2",
	}
	if !l.props.Opacity.IsConstant() || l.props.Opacity[0].V < 1 {
		kw["alpha"] = l.props.Opacity.Expr(tv)
	}
	if d.borderPx > 0 {
		kw["borderw"], kw["bordercolor"] = d.borderPx, d.border
	}
	if d.box != "" {
		kw["box"], kw["boxcolor"], kw["boxborderw"] = 1, d.box, d.boxPad
	}
	if l.start > 0 || l.end < p.duration {
		kw["enable"] = "gte(t," + num(l.start) + ")*lt(t," + num(l.end) + ")"
	}
	return main.Filter("drawtext", nil, kw)
}

// audioStream is the source's first audio track, downmixed where the
// output codec cannot carry its layout: Opus refuses 5.1(side) and
// layouts it does not know, so every output carries mono or stereo once
// the source has more channels (or an unnamed layout).
func audioStream(p *plan, src *ffmpeg.Stream) *ffmpeg.Stream {
	a := src.Get("a:0")
	if p.source.AudioChannels > 2 || p.source.AudioChannels > 0 && !plainLayout(p.source.AudioLayout) {
		a = a.Filter("aformat", nil, ffmpeg.KwArgs{"channel_layouts": "stereo"})
	}
	return a
}

func plainLayout(l string) bool { return l == "mono" || l == "stereo" }

// finalVideo adds what the output format needs after compositing.
func finalVideo(p *plan, v *ffmpeg.Stream, rs rateSettings) *ffmpeg.Stream {
	if p.format != spec.FormatGIF {
		return v
	}
	split := v.Split()
	pal := split.Get("0").Filter("palettegen", nil, ffmpeg.KwArgs{"max_colors": rs.gifColors, "stats_mode": "diff"})
	return ffmpeg.Filter([]*ffmpeg.Stream{split.Get("1"), pal}, "paletteuse",
		nil, ffmpeg.KwArgs{"dither": "bayer", "bayer_scale": 3, "diff_mode": "rectangle"})
}

// outputArgs are the encoder and muxer options.
func outputArgs(p *plan, rs rateSettings) ffmpeg.KwArgs {
	kw := ffmpeg.KwArgs{}
	if p.threads > 0 {
		kw["threads"] = p.threads
	}
	q := qualityOf(p.quality)
	switch p.format {
	case spec.FormatWebM:
		kw["format"] = "webm"
		kw["c:v"] = "libvpx-vp9"
		kw["crf"] = q.vp9CRF
		kw["b:v"] = "0"
		if rs.videoBitrate > 0 {
			kw["b:v"] = strconv.Itoa(rs.videoBitrate)
		}
		kw["deadline"] = q.vp9Deadline
		kw["cpu-used"] = q.vp9CPUUsed
		kw["row-mt"] = "1"
		kw["pix_fmt"] = "yuv420p"
		if p.alpha {
			kw["pix_fmt"] = "yuva420p"
			kw["auto-alt-ref"] = "0"
		}
		if p.audio {
			kw["c:a"] = "libopus"
			kw["b:a"] = strconv.Itoa(rs.audioBitrate)
		}
	case spec.FormatGIF:
		kw["format"] = "gif"
		kw["loop"] = "0"
	case spec.FormatWebP:
		kw["format"] = "webp"
		kw["c:v"] = "libwebp_anim"
		kw["quality"] = rs.webpQuality
		kw["lossless"] = "0"
		kw["loop"] = "0"
		kw["compression_level"] = q.webpLevel
		kw["pix_fmt"] = "yuv420p"
		if p.alpha {
			kw["pix_fmt"] = "yuva420p"
		}
	default:
		kw["format"] = "mp4"
		kw["movflags"] = "+faststart"
		kw["pix_fmt"] = "yuv420p"
		if p.encoder.Name == "h264_nvenc" {
			kw["c:v"] = "h264_nvenc"
			kw["preset"] = q.nvencPreset
			kw["rc"] = "vbr"
			kw["cq"] = q.x264CRF
			kw["b:v"] = "0"
		} else {
			kw["c:v"] = "libx264"
			kw["preset"] = q.x264Preset
			kw["crf"] = q.x264CRF
		}
		if rs.videoBitrate > 0 {
			kw["b:v"] = strconv.Itoa(rs.videoBitrate)
			kw["maxrate"] = strconv.Itoa(rs.videoBitrate)
			kw["bufsize"] = strconv.Itoa(rs.videoBitrate)
		}
		if p.audio {
			kw["c:a"] = "aac"
			kw["b:a"] = strconv.Itoa(rs.audioBitrate)
		}
	}
	return kw
}

// qualitySettings map the contract's quality levels to encoder settings.
type qualitySettings struct {
	x264Preset  string
	x264CRF     int
	nvencPreset string
	vp9CRF      int
	vp9Deadline string
	vp9CPUUsed  int
	webpQuality int
	webpLevel   int
}

func qualityOf(q string) qualitySettings {
	switch q {
	case "draft":
		return qualitySettings{"ultrafast", 28, "p1", 40, "realtime", 8, 60, 1}
	case "high":
		return qualitySettings{"medium", 18, "p6", 24, "good", 2, 90, 6}
	}
	return qualitySettings{"veryfast", 23, "p4", 32, "realtime", 6, 75, 4}
}
