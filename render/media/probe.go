package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	_ "image/gif"  // header decoding for image.DecodeConfig
	_ "image/jpeg" // header decoding for DecodeConfig
	_ "image/png"  // header decoding for DecodeConfig
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/animwebp"
)

// Kind says what a file is.
type Kind string

// Kinds of media.
const (
	KindVideo    Kind = "video"    // a video stream (with or without audio)
	KindImage    Kind = "image"    // one still picture
	KindAnimated Kind = "animated" // an animated image: GIF, APNG, animated WebP
)

// Info is what the engine needs to know about a file.
type Info struct {
	Kind      Kind    `json:"kind"`
	Container string  `json:"container"` // ffprobe format name, or "webp"
	Codec     string  `json:"codec"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	Duration  float64 `json:"duration"` // seconds; 0 for stills
	FPS       float64 `json:"fps"`
	Frames    int     `json:"frames"` // animated images; 1 for stills
	HasAudio  bool    `json:"has_audio"`
	HasAlpha  bool    `json:"has_alpha"`
	Bytes     int64   `json:"bytes"`
	// Width and Height above are the displayed frame's: a phone clip
	// stored 1920x1080 with a 90° display matrix is 1080x1920 here, as
	// ffmpeg decodes it (it applies the rotation). Rotation keeps the
	// matrix's angle (degrees, counter-clockwise), for reports.
	Rotation int `json:"rotation,omitempty"`
	// Orientation is a JPEG's EXIF orientation (1..8; 0 when absent).
	// Width and Height are already the upright picture's.
	Orientation int `json:"orientation,omitempty"`
	// VariableRate is set when the video's frames are not evenly spaced
	// (r_frame_rate differs from the average): a render resamples it to
	// a constant rate.
	VariableRate bool `json:"variable_rate,omitempty"`
	// AudioChannels, AudioLayout and AudioCodec describe the first audio
	// stream. The codec decides whether a smart render may copy it.
	AudioChannels int    `json:"audio_channels,omitempty"`
	AudioLayout   string `json:"audio_layout,omitempty"`
	AudioCodec    string `json:"audio_codec,omitempty"`
}

// Prober runs ffprobe.
type Prober struct {
	FFprobe string // path of the ffprobe binary
	Limits  Limits
	// Cache, when set, remembers what ffprobe said about a file (keyed by
	// path, size and modification time), so a worker rendering the same
	// uploaded source again does not start ffprobe again.
	Cache *Cache
}

// Probe inspects the file at path. Failures carry code SOURCE_UNREADABLE or
// ASSET_UNSUPPORTED (chosen by unreadable), and ASSET_TOO_LARGE for limits.
func (p Prober) Probe(ctx context.Context, path string, unreadable errcode.Code) (Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, errcode.Wrap(unreadable, err, "the file cannot be opened")
	}
	if !st.Mode().IsRegular() {
		return Info{}, errcode.New(unreadable, "not a regular file")
	}
	if st.Size() == 0 {
		return Info{}, errcode.New(unreadable, "the file is empty")
	}
	if st.Size() > p.Limits.MaxBytes {
		return Info{}, errcode.New(errcode.AssetTooLarge, "the file is %d bytes, at most %d", st.Size(), p.Limits.MaxBytes)
	}
	head, err := readHead(path, 512)
	if err != nil {
		return Info{}, errcode.Wrap(unreadable, err, "the file cannot be read")
	}
	container, refused := Sniff(head)
	switch {
	case container == ContainerWebP:
		return p.probeWebP(path, st.Size(), unreadable)
	case container == ContainerUnknown && refused != "":
		return Info{}, errcode.New(errcode.AssetUnsupported, "the file is %s, which names other files; upload the video itself", refused)
	case container == ContainerUnknown:
		return Info{}, errcode.New(unreadable, "not a supported file type (%s)", SupportedTypes)
	case !container.IsVideo():
		// Pictures are read in Go: no ffprobe start-up, and a huge canvas
		// is refused before anything decodes a pixel.
		info, err := probePicture(path)
		if err != nil {
			return Info{}, errcode.Wrap(unreadable, err, "not a readable %s image", strings.ToUpper(string(container)))
		}
		info.Bytes = st.Size()
		return info, p.check(info)
	}
	key := cacheKey{path, st.Size(), st.ModTime().UnixNano()}
	if info, ok := p.Cache.get(key); ok {
		return info, p.check(info)
	}
	info, err := p.ffprobe(ctx, path, unreadable)
	if err != nil {
		return Info{}, err
	}
	if err := checkComplete(path, container); err != nil {
		return Info{}, errcode.Wrap(unreadable, err, "the file is truncated or damaged: its index names data the file does not hold (an interrupted upload?)")
	}
	info.Bytes = st.Size()
	p.Cache.put(key, info)
	return info, p.check(info)
}

func (p Prober) checkDims(w, h int) error {
	long, short := max(w, h), min(w, h)
	if long > p.Limits.MaxWidth || short > p.Limits.MaxHeight {
		return errcode.New(errcode.AssetTooLarge, "%dx%d pixels, at most %dx%d", w, h, p.Limits.MaxWidth, p.Limits.MaxHeight)
	}
	return nil
}

func (p Prober) check(info Info) error {
	if err := p.checkDims(info.Width, info.Height); err != nil {
		return err
	}
	if info.Duration > p.Limits.MaxDuration {
		return errcode.New(errcode.AssetTooLarge, "%.1f seconds long, at most %g", info.Duration, p.Limits.MaxDuration)
	}
	if info.Kind == KindAnimated {
		if info.Frames > p.Limits.MaxFrames {
			return errcode.New(errcode.AssetTooLarge, "%d frames, at most %d", info.Frames, p.Limits.MaxFrames)
		}
		if px := int64(info.Width) * int64(info.Height) * int64(info.Frames); px > p.Limits.MaxFramePixels {
			return errcode.New(errcode.AssetTooLarge, "%d pixels over all frames, at most %d", px, p.Limits.MaxFramePixels)
		}
	}
	return nil
}

func (p Prober) probeWebP(path string, size int64, unreadable errcode.Code) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, errcode.Wrap(unreadable, err, "the file cannot be opened")
	}
	defer f.Close()
	wi, err := animwebp.Probe(f, size)
	if err != nil {
		return Info{}, errcode.Wrap(unreadable, err, "not a readable WebP image")
	}
	info := Info{Kind: KindImage, Container: "webp", Codec: "webp", Width: wi.Width, Height: wi.Height,
		Frames: 1, HasAlpha: true, Bytes: size}
	if wi.Animated {
		info.Kind, info.Frames, info.Duration = KindAnimated, wi.Frames, wi.Duration.Seconds()
	}
	return info, p.check(info)
}

type ffprobeOut struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		PixFmt       string `json:"pix_fmt"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		NbFrames     string `json:"nb_frames"`
		NbReadPkts   string `json:"nb_read_packets"`
		Duration     string `json:"duration"`
		Channels     int    `json:"channels"`
		Layout       string `json:"channel_layout"`
		Disposition  struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		Tags struct {
			Rotate string `json:"rotate"`
		} `json:"tags"`
		SideData []struct {
			Type     string  `json:"side_data_type"`
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

func (p Prober) ffprobe(ctx context.Context, path string, unreadable errcode.Code) (Info, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Limits.ProbeTimeout)
	defer cancel()
	maxPixels := strconv.Itoa(p.Limits.MaxWidth * p.Limits.MaxHeight)
	args := append([]string{"-v", "error", "-max_pixels", maxPixels,
		"-probesize", "20000000", "-analyzeduration", "20000000"}, InputGuard(VideoFormats)...)
	cmd := exec.CommandContext(ctx, p.FFprobe, append(args,
		"-print_format", "json", "-show_format", "-show_streams", "--", FileURL(path))...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return Info{}, errcode.Wrap(unreadable, ctx.Err(), "probing the file took too long")
	}
	if err != nil {
		if name, ok := refusedFormat(stderr.String()); ok {
			return Info{}, errcode.New(errcode.AssetUnsupported, "the file is in the %s format, which is not accepted (%s)", name, SupportedTypes)
		}
		return Info{}, errcode.Wrap(unreadable, fmt.Errorf("%w: %s", err, lastLine(stderr.String())), "not a readable video")
	}
	var fo ffprobeOut
	if err := json.Unmarshal(out, &fo); err != nil {
		return Info{}, errcode.Wrap(errcode.Internal, err, "ffprobe output")
	}
	info := Info{Container: fo.Format.FormatName}
	video := -1
	for i, s := range fo.Streams {
		switch s.CodecType {
		case "video":
			if video < 0 && s.Disposition.AttachedPic == 0 {
				video = i
			}
		case "audio":
			if !info.HasAudio {
				info.AudioChannels, info.AudioLayout, info.AudioCodec = s.Channels, s.Layout, s.CodecName
			}
			info.HasAudio = true
		}
	}
	if video < 0 {
		return Info{}, errcode.New(unreadable, "the file has no video or image stream")
	}
	s := fo.Streams[video]
	if s.Width <= 0 || s.Height <= 0 {
		return Info{}, errcode.New(unreadable, "the picture size is unknown")
	}
	info.Codec, info.Width, info.Height = s.CodecName, s.Width, s.Height
	info.Rotation = displayRotation(s.Tags.Rotate, s.SideData)
	if info.Rotation%180 != 0 {
		// ffmpeg turns the frames upright when it decodes them.
		info.Width, info.Height = info.Height, info.Width
	}
	info.HasAlpha = strings.Contains(s.PixFmt, "a") && !strings.HasPrefix(s.PixFmt, "gray") || strings.HasPrefix(s.PixFmt, "pal")
	info.FPS = rate(s.AvgFrameRate)
	if r := rate(s.RFrameRate); info.FPS <= 0 || info.FPS > 1000 {
		info.FPS = r
	} else if r > 0 && math.Abs(r-info.FPS)/info.FPS > 0.01 {
		// r_frame_rate is the smallest tick that times every frame: a
		// clip mixing 24 and 30 fps says 120. The average is the rate
		// a viewer sees; the render resamples to it.
		info.VariableRate = true
	}
	info.Frames = atoi(s.NbReadPkts)
	if info.Frames == 0 {
		info.Frames = atoi(s.NbFrames)
	}
	info.Duration = atof(fo.Format.Duration)
	if d := atof(s.Duration); d > 0 && (info.Duration == 0 || d < info.Duration) {
		info.Duration = d
	}
	switch {
	case isStillCodec(s.CodecName) && info.Frames <= 1:
		info.Kind, info.Frames, info.Duration, info.FPS = KindImage, 1, 0, 0
	case s.CodecName == "gif" || s.CodecName == "apng":
		info.Kind = KindAnimated
	case isStillCodec(s.CodecName):
		info.Kind = KindAnimated
	default:
		info.Kind = KindVideo
		if info.Duration <= 0 {
			return Info{}, errcode.New(unreadable, "the video's duration is unknown")
		}
	}
	if !info.HasAudio || info.Kind != KindVideo {
		info.HasAudio = info.HasAudio && info.Kind == KindVideo
	}
	return info, nil
}

// displayRotation returns the display matrix's rotation in degrees,
// normalised to 0, 90, 180 or 270 (other angles are not applied by
// ffmpeg's autorotation and count as 0).
func displayRotation(tag string, side []struct {
	Type     string  `json:"side_data_type"`
	Rotation float64 `json:"rotation"`
}) int {
	deg := atof(tag)
	for _, sd := range side {
		if sd.Type == "Display Matrix" {
			deg = sd.Rotation
		}
	}
	r := int(math.Round(deg))
	r = ((r % 360) + 360) % 360
	if r%90 != 0 {
		return 0
	}
	return r
}

func isStillCodec(c string) bool {
	switch c {
	case "png", "mjpeg", "jpegls", "webp", "bmp", "tiff", "gif", "apng":
		return true
	}
	return false
}

func rate(s string) float64 {
	n, d, ok := strings.Cut(s, "/")
	if !ok {
		return atof(s)
	}
	den := atof(d)
	if den == 0 {
		return 0
	}
	return atof(n) / den
}

func atof(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return f
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	k, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return b[:k], nil
}

func isWebP(head []byte) bool {
	return len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP"
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// checkComplete reads an indexed container's index in Go (microseconds)
// and reports data it names that the file does not hold: the first half
// of a faststart MP4 still says it lasts the whole length.
func checkComplete(path string, c Container) error {
	format := map[Container]string{ContainerMP4: "mp4", ContainerMatroska: "webm"}[c]
	if format == "" {
		return nil // MPEG-TS has no index
	}
	m, err := Measure(path, format)
	if err != nil {
		// Fragmented MP4 and other layouts Measure does not read:
		// ffprobe read them, and the render checks what it decoded.
		return nil
	}
	if !m.DataComplete {
		return errors.New("media: incomplete file")
	}
	return nil
}
