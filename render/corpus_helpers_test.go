package render

// Helpers of the real-world media corpus (corpus_test.go): the clips are
// made with ffmpeg's lavfi sources the first time a test asks for them,
// once per test binary, into one shared folder that TestMain removes with
// the engine's work folder.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stickerd/stickerd/render/animwebp"
	"github.com/stickerd/stickerd/render/spec"
)

// The corpus's colours: a dark blue background (no red, no green), a
// green marker in the stored picture's top-left corner (it shows where
// the picture's corner lands after a display rotation), and the red
// sticker.
const (
	corpusBG     = "0x203870"
	corpusMarker = "0x00FF00"
)

// corpusRecipe makes one clip at out. need names an ffmpeg encoder the
// recipe cannot do without (the clip is skipped when it is missing).
type corpusRecipe struct {
	need []string
	slow bool // skipped under -short
	make func(out string) error
}

type corpusEntry struct {
	once sync.Once
	path string
	err  error
}

var (
	corpusDirOnce sync.Once
	corpusDirPath string
	corpusDirErr  error

	corpusMu      sync.Mutex
	corpusEntries = map[string]*corpusEntry{}

	corpusEncOnce sync.Once
	corpusEncList string
)

// corpusDir is the shared folder of generated clips. It lives next to the
// test engine's work folder, which TestMain removes when the tests end.
func corpusDir(t *testing.T) string {
	t.Helper()
	corpusDirOnce.Do(func() {
		parent := os.TempDir()
		if testEngine != nil && testEngine.cfg.WorkDir != "" {
			parent = filepath.Dir(testEngine.cfg.WorkDir)
		}
		corpusDirPath, corpusDirErr = os.MkdirTemp(parent, "corpus-")
	})
	if corpusDirErr != nil {
		t.Fatalf("corpus folder: %v", corpusDirErr)
	}
	return corpusDirPath
}

// corpusHasEncoder reports whether this ffmpeg build has the encoder.
func corpusHasEncoder(name string) bool {
	corpusEncOnce.Do(func() {
		out, _ := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
		corpusEncList = string(out)
	})
	return regexp.MustCompile(`(?m)^ \S+ ` + regexp.QuoteMeta(name) + `\s`).MatchString(corpusEncList)
}

// corpusClip returns the path of the named clip (a file name in the
// corpus folder; the recipe is chosen by that name), making it first.
func corpusClip(t *testing.T, name string) string {
	t.Helper()
	r, ok := corpusRecipes[name]
	if !ok {
		t.Fatalf("no corpus recipe named %q", name)
	}
	if r.slow && testing.Short() {
		t.Skipf("%s is a large clip; skipped by -short", name)
	}
	for _, enc := range r.need {
		if !corpusHasEncoder(enc) {
			t.Skipf("this ffmpeg has no %s encoder, needed to make %s", enc, name)
		}
	}
	dir := corpusDir(t)
	corpusMu.Lock()
	e, ok := corpusEntries[name]
	if !ok {
		e = &corpusEntry{}
		corpusEntries[name] = e
	}
	corpusMu.Unlock()
	e.once.Do(func() {
		e.path = filepath.Join(dir, name)
		e.err = r.make(e.path)
	})
	if e.err == errCorpusNoAV1 {
		t.Skip(e.err)
	}
	if e.err != nil {
		t.Fatalf("making corpus clip %s: %v", name, e.err)
	}
	return e.path
}

// corpusFFmpeg runs ffmpeg with args (after -v error -y), returning its
// output in the error when it fails.
func corpusFFmpeg(args ...string) error {
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostdin", "-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// corpusPicture is the corpus picture: the background with the green
// marker in its top-left corner, a quarter of each side, and a little
// luma noise that changes every frame, as in a real recording (an
// encoder may merge identical frames: libwebp turns a second of them
// into one still picture). Pictures over a megapixel stay still, to
// keep them quick to make.
func corpusPicture(w, h int, rate string, dur float64) string {
	s := corpusStill(w, h, rate, dur)
	if w*h <= 1<<20 {
		s += ",noise=c0s=4:c0f=t"
	}
	return s
}

// corpusStill is the corpus picture without noise: every frame the same.
func corpusStill(w, h int, rate string, dur float64) string {
	format := ""
	if w%2 != 0 || h%2 != 0 {
		format = ",format=yuv444p" // 4:2:0 would round the size down to even
	}
	return fmt.Sprintf("color=c=%s:s=%dx%d:r=%s:d=%s%s,drawbox=x=0:y=0:w=%d:h=%d:color=%s:t=fill",
		corpusBG, w, h, rate, corpusNum(dur), format, max(1, w/4), max(1, h/4), corpusMarker)
}

// corpusCheckStored fails a recipe whose clip did not come out w×h.
func corpusCheckStored(out string, w, h int) error {
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", out).Output()
	if err != nil {
		return fmt.Errorf("ffprobe %s: %v", out, err)
	}
	if got, want := strings.TrimSpace(string(b)), fmt.Sprintf("%d,%d", w, h); got != want {
		return fmt.Errorf("%s came out %s, want %s", filepath.Base(out), got, want)
	}
	return nil
}

// corpusFlash adds a full-frame white flash during [at, at+0.04).
func corpusFlash(at float64) string {
	return fmt.Sprintf(",drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(t,%s,%s)'", corpusNum(at), corpusNum(at+0.04))
}

// corpusBeep is mono audio that is silent but for a 1 kHz beep during
// [at, at+0.1).
func corpusBeep(at, dur float64) string {
	return fmt.Sprintf("aevalsrc='0.8*sin(2*PI*1000*t)*between(t,%s,%s)':s=48000:d=%s", corpusNum(at), corpusNum(at+0.1), corpusNum(dur))
}

func corpusTone(dur float64, layout string) string {
	s := fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%s", corpusNum(dur))
	if layout != "" {
		s += ",aformat=channel_layouts=" + layout
	}
	return s
}

func corpusNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

var corpusX264 = []string{"-c:v", "libx264", "-preset", "ultrafast"}

// corpusVideo is one ffmpeg run from a lavfi picture (and tone, when
// audio is set) with the given encoder options.
func corpusVideo(w, h int, rate string, dur float64, audio []string, venc ...string) func(string) error {
	return func(out string) error {
		args := []string{"-f", "lavfi", "-i", corpusPicture(w, h, rate, dur)}
		if audio != nil {
			args = append(args, "-f", "lavfi", "-i", corpusTone(dur, ""))
			args = append(args, audio...)
		}
		args = append(args, venc...)
		return corpusFFmpeg(append(args, out)...)
	}
}

var corpusAAC = []string{"-c:a", "aac"}

// corpusRotated remuxes the base clip with a display rotation (ffmpeg
// 5.1 has no -display_rotation; the rotate tag becomes the display
// matrix).
func corpusRotated(deg int) func(string) error {
	return func(out string) error {
		base := out + ".base.mp4"
		if err := corpusVideo(320, 180, "30", 1, corpusAAC, corpusX264...)(base); err != nil {
			return err
		}
		defer os.Remove(base)
		return corpusFFmpeg("-i", base, "-map", "0", "-c", "copy", "-metadata:s:v:0", "rotate="+strconv.Itoa(deg), out)
	}
}

// corpusAudioLayout is a 320x180 clip whose audio has the given layout
// and codec.
func corpusAudioLayout(layout, codec string) func(string) error {
	return func(out string) error {
		return corpusFFmpeg(append([]string{"-f", "lavfi", "-i", corpusPicture(320, 180, "30", 1),
			"-f", "lavfi", "-i", corpusTone(1, layout), "-c:a", codec}, append(corpusX264, "-pix_fmt", "yuv420p", out)...)...)
	}
}

var corpusRecipes = map[string]corpusRecipe{
	"h264_aac.mp4":     {make: corpusVideo(320, 180, "30", 1, corpusAAC, corpusX264...)},
	"h264_noaudio.mp4": {make: corpusVideo(320, 180, "30", 1, nil, corpusX264...)},
	// Every frame the same: a screen recording of a still page, a slide.
	"h264_static.mp4": {make: func(out string) error {
		return corpusFFmpeg(append([]string{"-f", "lavfi", "-i", corpusStill(320, 180, "30", 1), "-f", "lavfi", "-i", corpusTone(1, ""), "-c:a", "aac"}, append(corpusX264, "-pix_fmt", "yuv420p", out)...)...)
	}},
	"hevc_aac.mp4":       {need: []string{"libx265"}, make: corpusVideo(320, 180, "30", 1, corpusAAC, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1")},
	"hevc_10bit.mp4":     {need: []string{"libx265"}, make: corpusVideo(320, 180, "30", 1, corpusAAC, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1")},
	"vp9_opus.webm":      {need: []string{"libvpx-vp9", "libopus"}, make: corpusVideo(320, 180, "30", 1, []string{"-c:a", "libopus"}, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8")},
	"prores_pcm.mov":     {need: []string{"prores_ks"}, make: corpusVideo(320, 180, "30", 1, []string{"-c:a", "pcm_s16le"}, "-c:v", "prores_ks", "-profile:v", "0")},
	"av1.mp4":            {make: corpusAV1},
	"h264_aac.ts":        {make: corpusVideo(320, 180, "30", 1, corpusAAC, corpusX264...)},
	"h264_10bit.mp4":     {make: corpusVideo(320, 180, "30", 1, corpusAAC, append(corpusX264, "-pix_fmt", "yuv420p10le")...)},
	"h264_444.mp4":       {make: corpusVideo(320, 180, "30", 1, corpusAAC, append(corpusX264, "-pix_fmt", "yuv444p")...)},
	"h264_fullrange.mp4": {make: corpusVideo(320, 180, "30", 1, corpusAAC, append(corpusX264, "-pix_fmt", "yuvj420p", "-color_range", "pc")...)},
	"vp9_321x181.webm": {need: []string{"libvpx-vp9"}, make: func(out string) error {
		if err := corpusFFmpeg("-f", "lavfi", "-i", corpusPicture(321, 181, "30", 1),
			"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-pix_fmt", "yuv420p", out); err != nil {
			return err
		}
		return corpusCheckStored(out, 321, 181)
	}},
	"h264_444_321x181.mp4": {make: func(out string) error {
		if err := corpusFFmpeg(append([]string{"-f", "lavfi", "-i", corpusPicture(321, 181, "30", 1)}, append(corpusX264, "-pix_fmt", "yuv444p", out)...)...); err != nil {
			return err
		}
		return corpusCheckStored(out, 321, 181)
	}},
	"tiny_16x16.mp4":     {make: corpusVideo(16, 16, "30", 1, nil, append(corpusX264, "-pix_fmt", "yuv420p")...)},
	"tiny_2x2.mp4":       {make: corpusVideo(2, 2, "30", 1, nil, append(corpusX264, "-pix_fmt", "yuv420p")...)},
	"uhd_3840x2160.mp4":  {slow: true, make: corpusVideo(3840, 2160, "30", 0.5, corpusAAC, append(corpusX264, "-pix_fmt", "yuv420p")...)},
	"fps60.mp4":          {make: corpusVideo(320, 180, "60", 1, corpusAAC, append(corpusX264, "-pix_fmt", "yuv420p")...)},
	"fps120.mp4":         {make: corpusVideo(320, 180, "120", 1, nil, append(corpusX264, "-pix_fmt", "yuv420p")...)},
	"fps23976_flash.mp4": {make: corpusFlashClip},
	"vfr_24_30.mp4":      {make: corpusVFRClip},
	"rot90.mp4":          {make: corpusRotated(90)},
	"rot180.mp4":         {make: corpusRotated(180)},
	"rot270.mp4":         {make: corpusRotated(270)},
	"ac3_51side.mkv":     {need: []string{"ac3"}, make: corpusAudioLayout("5.1(side)", "ac3")},
	"aac_mono.mp4":       {make: corpusAudioLayout("mono", "aac")},
	"aac_71.mp4":         {make: corpusAudioLayout("7.1", "aac")},
	"aac_quad.mp4":       {make: corpusAudioLayout("quad", "aac")},
	"aac_40.mp4":         {make: corpusAudioLayout("4.0", "aac")},
	"two_tracks.mp4": {make: func(out string) error {
		// Track 1 is a tone, track 2 silence: the output must carry the first.
		return corpusFFmpeg(append([]string{"-f", "lavfi", "-i", corpusPicture(320, 180, "30", 1),
			"-f", "lavfi", "-i", corpusTone(1, ""), "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo:d=1",
			"-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:a", "aac"}, append(corpusX264, "-pix_fmt", "yuv420p", out)...)...)
	}},
	"audio_only.m4a": {make: func(out string) error {
		return corpusFFmpeg("-f", "lavfi", "-i", corpusTone(1, ""), "-c:a", "aac", out)
	}},
	"still.png": {make: func(out string) error {
		return corpusFFmpeg("-f", "lavfi", "-i", corpusPicture(320, 180, "1", 1), "-frames:v", "1", out)
	}},
	"still.jpg": {make: func(out string) error {
		return corpusFFmpeg("-f", "lavfi", "-i", corpusPicture(320, 180, "1", 1), "-frames:v", "1", out)
	}},
	"zero_bytes.mp4": {make: func(out string) error { return os.WriteFile(out, nil, 0o644) }},
	"random_bytes.mp4": {make: func(out string) error {
		b := make([]byte, 64<<10)
		rand.New(rand.NewSource(1)).Read(b)
		return os.WriteFile(out, b, 0o644)
	}},
	"text.mp4": {make: func(out string) error {
		return os.WriteFile(out, []byte("Hello! This is a note I saved with the wrong extension.\nNot a video.\n"), 0o644)
	}},
	"truncated_faststart.mp4": {make: func(out string) error {
		full := out + ".full.mp4"
		if err := corpusVideo(320, 180, "30", 4, corpusAAC, append(corpusX264, "-pix_fmt", "yuv420p", "-movflags", "+faststart")...)(full); err != nil {
			return err
		}
		defer os.Remove(full)
		b, err := os.ReadFile(full)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b[:len(b)/2], 0o644)
	}},
	"red.png": {make: func(out string) error { return corpusWritePNG(out, 100, 100, color.NRGBA{255, 0, 0, 255}) }},
	"exif6_red.jpg": {make: func(out string) error {
		return corpusWriteEXIFJPEG(out, 40, 20, 6, func(x, y int) color.NRGBA { return color.NRGBA{255, 0, 0, 255} })
	}},
	// Stored left half red, right half green: shown upright (turned a
	// quarter clockwise), red is on top and green below.
	"exif6_redgreen.jpg": {make: func(out string) error {
		return corpusWriteEXIFJPEG(out, 40, 20, 6, func(x, y int) color.NRGBA {
			if x < 20 {
				return color.NRGBA{255, 0, 0, 255}
			}
			return color.NRGBA{0, 255, 0, 255}
		})
	}},
}

// corpusAV1 uses whichever AV1 encoder this ffmpeg has.
func corpusAV1(out string) error {
	switch {
	case corpusHasEncoder("libsvtav1"):
		return corpusVideo(320, 180, "30", 1, corpusAAC, "-c:v", "libsvtav1", "-preset", "12", "-pix_fmt", "yuv420p")(out)
	case corpusHasEncoder("libaom-av1"):
		return corpusVideo(320, 180, "30", 1, corpusAAC, "-c:v", "libaom-av1", "-cpu-used", "8", "-row-mt", "1", "-pix_fmt", "yuv420p")(out)
	}
	return errCorpusNoAV1
}

var errCorpusNoAV1 = fmt.Errorf("this ffmpeg has no AV1 encoder (libsvtav1 or libaom-av1)")

// corpusFlashClip is 2 s at 23.976 fps with a white flash and a beep at 1 s.
func corpusFlashClip(out string) error {
	return corpusFFmpeg("-f", "lavfi", "-i", corpusPicture(320, 180, "24000/1001", 2)+corpusFlash(1),
		"-f", "lavfi", "-i", corpusBeep(1, 2), "-c:a", "aac", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", out)
}

// corpusVFRClip joins 1 s at 24 fps and 1 s at 30 fps into one variable-rate
// clip (ffprobe: r_frame_rate 120/1, average 27.5); the second part opens
// with a white flash and a beep, at 1 s.
func corpusVFRClip(out string) error {
	return corpusFFmpeg(
		"-f", "lavfi", "-i", corpusPicture(320, 180, "24", 1),
		"-f", "lavfi", "-i", corpusPicture(320, 180, "30", 1)+corpusFlash(0),
		"-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono:d=1",
		"-f", "lavfi", "-i", corpusBeep(0, 1),
		"-filter_complex", "[0:v][2:a][1:v][3:a]concat=n=2:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
		"-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", out)
}

func corpusWritePNG(path string, w, h int, c color.NRGBA) error {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// corpusWriteEXIFJPEG writes a w×h (stored) JPEG with a minimal EXIF APP1
// segment holding only the Orientation tag (0x0112).
func corpusWriteEXIFJPEG(path string, w, h, orientation int, px func(x, y int) color.NRGBA) error {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, px(x, y))
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		return err
	}
	data := b.Bytes()
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return fmt.Errorf("the JPEG encoder wrote no SOI")
	}
	// TIFF header (big-endian), IFD0 at offset 8 with one entry:
	// Orientation, type SHORT, count 1, the value left-justified.
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")
	tiff = binary.BigEndian.AppendUint16(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.BigEndian.AppendUint16(tiff, 3)
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, uint16(orientation))
	tiff = append(tiff, 0, 0)
	tiff = binary.BigEndian.AppendUint32(tiff, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1}
	app1 = binary.BigEndian.AppendUint16(app1, uint16(len(seg)+2))
	app1 = append(app1, seg...)
	out := append(append(append([]byte{}, data[:2]...), app1...), data[2:]...)
	return os.WriteFile(path, out, 0o644)
}

// corpusProbe is what ffprobe says about a file (with -count_packets).
type corpusProbe struct {
	Streams []corpusStream `json:"streams"`
	Format  struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		Size       string `json:"size"`
	} `json:"format"`
}

type corpusStream struct {
	Index         int    `json:"index"`
	CodecType     string `json:"codec_type"`
	CodecName     string `json:"codec_name"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	PixFmt        string `json:"pix_fmt"`
	ColorRange    string `json:"color_range"`
	AvgFrameRate  string `json:"avg_frame_rate"`
	RFrameRate    string `json:"r_frame_rate"`
	NbReadPackets string `json:"nb_read_packets"`
	Duration      string `json:"duration"`
	Channels      int    `json:"channels"`
	ChannelLayout string `json:"channel_layout"`
	Tags          struct {
		Rotate string `json:"rotate"`
	} `json:"tags"`
	SideData []struct {
		Type     string  `json:"side_data_type"`
		Rotation float64 `json:"rotation"`
	} `json:"side_data_list"`
}

func corpusFFprobe(t *testing.T, path string) corpusProbe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-print_format", "json",
		"-show_format", "-show_streams", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", filepath.Base(path), err)
	}
	var p corpusProbe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v", filepath.Base(path), err)
	}
	return p
}

func (p corpusProbe) streams(kind string) []corpusStream {
	var out []corpusStream
	for _, s := range p.Streams {
		if s.CodecType == kind {
			out = append(out, s)
		}
	}
	return out
}

// video is the first video stream; ok is false when there is none.
func (p corpusProbe) video() (corpusStream, bool) {
	v := p.streams("video")
	if len(v) == 0 {
		return corpusStream{}, false
	}
	return v[0], true
}

// videoDuration is the video stream's duration, or the container's
// where the stream has none (WebM, Matroska, MPEG-TS).
func (p corpusProbe) videoDuration() float64 {
	if v, ok := p.video(); ok {
		if d, err := strconv.ParseFloat(v.Duration, 64); err == nil && d > 0 {
			return d
		}
	}
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

// rotation is the display matrix's angle, 0, 90, 180 or 270.
func (s corpusStream) rotation() int {
	deg, _ := strconv.ParseFloat(s.Tags.Rotate, 64)
	for _, sd := range s.SideData {
		if sd.Type == "Display Matrix" {
			deg = sd.Rotation
		}
	}
	return ((int(math.Round(deg)) % 360) + 360) % 360
}

// displayed is the size a player shows.
func (s corpusStream) displayed() (int, int) {
	if s.rotation()%180 != 0 {
		return s.Height, s.Width
	}
	return s.Width, s.Height
}

func (s corpusStream) frames() int {
	n, _ := strconv.Atoi(s.NbReadPackets)
	return n
}

// corpusRate reads "num/den" (or a plain number); 0 when unknown.
func corpusRate(r string) float64 {
	n, d, ok := strings.Cut(r, "/")
	if !ok {
		f, _ := strconv.ParseFloat(r, 64)
		return f
	}
	num, _ := strconv.ParseFloat(n, 64)
	den, _ := strconv.ParseFloat(d, 64)
	if den == 0 {
		return 0
	}
	return num / den
}

// renderCorpus renders spec JSON (paths relative to the corpus folder) to
// a file of the given extension in a fresh folder, turning an engine
// panic into a test failure.
func renderCorpus(t *testing.T, ext, js string) (res *Result, out string, err error) {
	t.Helper()
	s, perr := spec.Parse([]byte(js), spec.ParseOptions{AllowPaths: true})
	if perr != nil {
		t.Fatalf("spec refused: %v\n%s", perr, js)
	}
	out = filepath.Join(t.TempDir(), "out."+ext)
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Render panicked: %v", r)
		}
	}()
	res, err = testEngine.Render(context.Background(), Job{Spec: s, Resolver: FileResolver{Dir: corpusDir(t)}, Output: out})
	return res, out, err
}

// corpusFrame is one decoded frame, 8-bit RGB.
type corpusFrame struct {
	w, h int
	pix  []byte
}

func (f corpusFrame) at(x, y int) color.NRGBA {
	i := (y*f.w + x) * 3
	return color.NRGBA{f.pix[i], f.pix[i+1], f.pix[i+2], 255}
}

// corpusDecodeAt decodes the frame shown at time sec, scaled to w×h when scale
// is set (ffmpeg applies a display rotation first), else at its size w×h.
func corpusDecodeAt(t *testing.T, path string, sec float64, w, h int, scale bool) corpusFrame {
	t.Helper()
	// Output seeking (decoding from the start): input seeking finds no
	// keyframe to start from in a short MPEG-TS clip.
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-i", path, "-ss", corpusNum(sec)}
	if scale {
		args = append(args, "-vf", fmt.Sprintf("scale=%d:%d", w, h))
	}
	args = append(args, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	cmd := exec.Command("ffmpeg", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || len(out) != w*h*3 {
		t.Fatalf("decoding the frame at %.2fs of %s as %dx%d: %v (%d bytes, want %d) %s",
			sec, filepath.Base(path), w, h, err, len(out), w*h*3, stderr.String())
	}
	return corpusFrame{w, h, out}
}

// corpusDecodeWebPAt decodes the animated WebP frame shown at time sec.
func corpusDecodeWebPAt(t *testing.T, path string, sec float64) corpusFrame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames, _, err := animwebp.Decode(f, animwebp.DefaultLimits())
	if err != nil || len(frames) == 0 {
		t.Fatalf("decoding %s: %v (%d frames)", filepath.Base(path), err, len(frames))
	}
	var at float64
	pick := frames[len(frames)-1]
	for _, fr := range frames {
		if at+fr.Delay.Seconds() > sec {
			pick = fr
			break
		}
		at += fr.Delay.Seconds()
	}
	b := pick.Image.Bounds()
	out := corpusFrame{w: b.Dx(), h: b.Dy(), pix: make([]byte, b.Dx()*b.Dy()*3)}
	for y := 0; y < out.h; y++ {
		for x := 0; x < out.w; x++ {
			c := pick.Image.NRGBAAt(b.Min.X+x, b.Min.Y+y)
			i := (y*out.w + x) * 3
			out.pix[i], out.pix[i+1], out.pix[i+2] = c.R, c.G, c.B
		}
	}
	return out
}

// corpusBox is a bounding box of matching pixels, inclusive; n counts them.
type corpusBox struct{ x0, y0, x1, y1, n int }

func (b corpusBox) w() int      { return b.x1 - b.x0 + 1 }
func (b corpusBox) h() int      { return b.y1 - b.y0 + 1 }
func (b corpusBox) cx() float64 { return float64(b.x0+b.x1+1) / 2 }
func (b corpusBox) cy() float64 { return float64(b.y0+b.y1+1) / 2 }
func (b corpusBox) String() string {
	if b.n == 0 {
		return "none"
	}
	return fmt.Sprintf("%dx%d at x %d..%d, y %d..%d (centre %.1f,%.1f)", b.w(), b.h(), b.x0, b.x1, b.y0, b.y1, b.cx(), b.cy())
}

func corpusFindBox(f corpusFrame, match func(color.NRGBA) bool) corpusBox {
	b := corpusBox{x0: f.w, y0: f.h, x1: -1, y1: -1}
	for y := 0; y < f.h; y++ {
		for x := 0; x < f.w; x++ {
			if match(f.at(x, y)) {
				b.n++
				b.x0, b.y0 = min(b.x0, x), min(b.y0, y)
				b.x1, b.y1 = max(b.x1, x), max(b.y1, y)
			}
		}
	}
	return b
}

func corpusIsRed(c color.NRGBA) bool   { return c.R > 140 && c.G < 100 && c.B < 100 }
func corpusIsGreen(c color.NRGBA) bool { return c.G > 140 && c.R < 100 && c.B < 110 }

// mean is the average colour of the (2r+1)² patch around (x, y).
func (f corpusFrame) mean(x, y, r int) color.NRGBA {
	var s [3]int
	n := 0
	for yy := max(0, y-r); yy <= min(f.h-1, y+r); yy++ {
		for xx := max(0, x-r); xx <= min(f.w-1, x+r); xx++ {
			c := f.at(xx, yy)
			s[0], s[1], s[2] = s[0]+int(c.R), s[1]+int(c.G), s[2]+int(c.B)
			n++
		}
	}
	return color.NRGBA{uint8(s[0] / n), uint8(s[1] / n), uint8(s[2] / n), 255}
}

// corpusTolPx is the pixel tolerance for a length of want pixels: 2 px or 3%.
func corpusTolPx(want float64) float64 { return math.Max(2, 0.03*want) }

var (
	corpusShowinfoRe = regexp.MustCompile(`pts_time:\s*([-0-9.e]+).*?mean:\[(\d+)`)
	corpusSilenceRe  = regexp.MustCompile(`silence_end:\s*([-0-9.e]+)`)
)

// corpusFlashTime is the presentation time of the first frame whose mean luma
// is over 150 (the white flash), on the file's own timeline (-copyts).
func corpusFlashTime(t *testing.T, path string) (float64, bool) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-copyts", "-i", path, "-map", "0:v:0",
		"-vf", "showinfo", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("showinfo over %s: %v\n%s", filepath.Base(path), err, out)
	}
	for _, m := range corpusShowinfoRe.FindAllStringSubmatch(string(out), -1) {
		if y, _ := strconv.Atoi(m[2]); y > 150 {
			ts, _ := strconv.ParseFloat(m[1], 64)
			return ts, true
		}
	}
	return 0, false
}

// corpusBeepTime is the time of the first audio sample over -20 dBFS after at
// least 20 ms of quiet (silencedetect works sample by sample), on the
// file's own timeline (-copyts).
func corpusBeepTime(t *testing.T, path string) (float64, bool) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-copyts", "-i", path, "-map", "0:a:0",
		"-af", "aformat=channel_layouts=mono,silencedetect=n=-20dB:d=0.02", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("silencedetect over %s: %v\n%s", filepath.Base(path), err, out)
	}
	m := corpusSilenceRe.FindStringSubmatch(string(out))
	if m == nil {
		return 0, false
	}
	ts, _ := strconv.ParseFloat(m[1], 64)
	return ts, true
}

// corpusMaxVolume is the loudest sample of the first audio stream, in dBFS.
func corpusMaxVolume(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-i", path, "-map", "0:a:0",
		"-af", "volumedetect", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("volumedetect over %s: %v\n%s", filepath.Base(path), err, out)
	}
	m := regexp.MustCompile(`max_volume:\s*([-0-9.]+|-inf) dB`).FindStringSubmatch(string(out))
	if m == nil || m[1] == "-inf" {
		return math.Inf(-1)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func corpusAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
