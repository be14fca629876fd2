package render

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/spec"
)

type probed struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		PixFmt       string `json:"pix_fmt"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		Tags         struct {
			AlphaMode string `json:"alpha_mode"`
		} `json:"tags"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, path string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRender_OutputFormats(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	src := f.video("src.mp4", "testsrc2=size=640x360:rate=25:duration=2", true)
	f.png("red.png", 64, 64, red)
	tests := []struct {
		format, ext, codec, container, audio string
		w, h                                 int
		fps                                  string
	}{
		{"mp4", "mp4", "h264", "mov,mp4", "aac", 320, 180, "15/1"},
		{"webm", "webm", "vp9", "matroska,webm", "opus", 320, 180, "15/1"},
		{"gif", "gif", "gif", "gif", "", 320, 180, ""},
		{"webp", "webp", "webp", "webp", "", 320, 180, ""},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			res := f.mustRender(tt.ext, `{"source":{"path":"`+filepath.Base(src)+`"},"stickers":[
				{"type":"image","path":"red.png","width":0.2}],
				"output":{"format":"`+tt.format+`","width":320,"fps":15,"quality":"draft"}}`)
			if res.Width != tt.w || res.Height != tt.h || res.Format != tt.format {
				t.Fatalf("result %+v", res)
			}
			if tt.format == "webp" {
				// ffmpeg 5.1 cannot demux animated WebP; check the RIFF header instead.
				b, _ := os.ReadFile(res.Path)
				if len(b) < 40 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" || !strings.Contains(string(b[:64]), "ANIM") {
					t.Fatalf("not an animated WebP")
				}
				return
			}
			p := ffprobe(t, res.Path)
			if !strings.HasPrefix(p.Format.FormatName, tt.container) {
				t.Errorf("container %s, want %s", p.Format.FormatName, tt.container)
			}
			var gotAudio string
			for _, s := range p.Streams {
				switch s.CodecType {
				case "video":
					if s.CodecName != tt.codec || s.Width != tt.w || s.Height != tt.h {
						t.Errorf("video stream %s %dx%d, want %s %dx%d", s.CodecName, s.Width, s.Height, tt.codec, tt.w, tt.h)
					}
					if tt.fps != "" && s.RFrameRate != tt.fps && s.AvgFrameRate != tt.fps {
						t.Errorf("frame rate %s/%s, want %s", s.RFrameRate, s.AvgFrameRate, tt.fps)
					}
				case "audio":
					gotAudio = s.CodecName
				}
			}
			if gotAudio != tt.audio {
				t.Errorf("audio %q, want %q", gotAudio, tt.audio)
			}
			if d := atof(p.Format.Duration); d < 1.8 || d > 2.2 {
				t.Errorf("duration %g, want 2", d)
			}
		})
	}
}

func TestRender_WebMAlphaCanvas(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("red.png", 64, 64, red)
	res := f.mustRender("webm", `{"source":{"color":"#00000000","width":320,"height":240,"duration":1,"fps":10},
		"stickers":[{"type":"image","path":"red.png","width":0.3}],"output":{"format":"webm","quality":"draft"}}`)
	p := ffprobe(t, res.Path)
	if len(p.Streams) == 0 || p.Streams[0].Tags.AlphaMode != "1" {
		t.Fatalf("webm from a transparent canvas has no alpha: %+v", p.Streams)
	}
	// Decode with libvpx-vp9 (which reads the alpha side data) and check
	// that the corner is transparent and the sticker opaque.
	out, err := exec.Command("ffmpeg", "-v", "error", "-c:v", "libvpx-vp9", "-i", res.Path, "-frames:v", "1",
		"-f", "rawvideo", "-pix_fmt", "rgba", "-").Output()
	if err != nil || len(out) != 320*240*4 {
		t.Fatalf("decode: %v", err)
	}
	if corner := out[3]; corner > 10 {
		t.Errorf("corner alpha %d, want transparent", corner)
	}
	if c := out[(120*320+160)*4:]; c[0] < 200 || c[3] < 240 {
		t.Errorf("centre %v, want opaque red", c[:4])
	}
}

func TestRender_MaxBytes(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	// Noise is the worst case for an encoder: quality mode would be large.
	src := f.video("noise.mp4", "nullsrc=size=640x360:rate=25:duration=4,geq=random(1)*255:128:128", true, "-crf", "10")
	f.png("red.png", 64, 64, red)
	for _, max := range []int64{150_000, 400_000} {
		res := f.mustRender("mp4", `{"source":{"path":"`+filepath.Base(src)+`"},"stickers":[
			{"type":"image","path":"red.png","width":0.2}],"output":{"max_bytes":`+itoa64(max)+`}}`)
		if res.Bytes > max {
			t.Errorf("max_bytes %d: output %d bytes", max, res.Bytes)
		}
		st, _ := os.Stat(res.Path)
		if st.Size() != res.Bytes {
			t.Errorf("result says %d bytes, file has %d", res.Bytes, st.Size())
		}
		t.Logf("max_bytes %d -> %d bytes in %d encode(s)", max, res.Bytes, res.Encodes)
	}
}

func TestRender_MaxBytesImpossible(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("red.png", 64, 64, red)
	_, err := f.render("mp4", `{"source":{"color":"#000000","width":1280,"height":720,"duration":600,"fps":30},
		"stickers":[{"type":"image","path":"red.png"}],"output":{"max_bytes":10000}}`)
	if errcode.Of(err) != errcode.OutputTooLarge {
		t.Fatalf("want OUTPUT_TOO_LARGE, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "out.mp4")); !os.IsNotExist(err) {
		t.Fatal("an output was left behind")
	}
}

func TestRender_Progress(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("red.png", 64, 64, red)
	s, _ := spec.Parse([]byte(`{"source":`+canvas(3)+`,"stickers":[{"type":"image","path":"red.png"}]}`), spec.ParseOptions{AllowPaths: true})
	var mu sync.Mutex
	var got []float64
	_, err := testEngine.Render(context.Background(), Job{Spec: s, Resolver: FileResolver{Dir: f.dir},
		Output: filepath.Join(f.dir, "out.mp4"), Progress: func(p float64) { mu.Lock(); got = append(got, p); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[len(got)-1] != 1 {
		t.Fatalf("progress %v does not end at 1", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] || got[i] > 1 {
			t.Fatalf("progress not rising within 0..1: %v", got)
		}
	}
}

func TestRender_CancelStopsFFmpeg(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("red.png", 64, 64, red)
	s, _ := spec.Parse([]byte(`{"source":{"color":"#000000","width":1920,"height":1080,"duration":300,"fps":30},
		"stickers":[{"type":"image","path":"red.png","animation":"spin"}],"output":{"quality":"high"}}`), spec.ParseOptions{AllowPaths: true})
	out := filepath.Join(f.dir, "cancel-me.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := testEngine.Render(ctx, Job{Spec: s, Resolver: FileResolver{Dir: f.dir}, Output: out,
			Progress: func(float64) { once.Do(func() { close(started) }) }})
		done <- err
	}()
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("the render never reported progress")
	}
	if n := ffmpegsWriting(t, out); n != 1 {
		t.Fatalf("%d ffmpeg processes writing %s before cancel, want 1", n, out)
	}
	at := time.Now()
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Render did not return after cancel")
	}
	if errcode.Of(err) != errcode.Canceled {
		t.Fatalf("want CANCELED, got %v", err)
	}
	t.Logf("returned %v after cancel", time.Since(at))
	if n := ffmpegsWriting(t, out); n != 0 {
		t.Fatalf("%d ffmpeg processes still running after cancel", n)
	}
	for _, p := range []string{out, partialPath(out)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind", p)
		}
	}
}

// ffmpegsWriting counts live ffmpeg processes whose command line names out's partial file.
func ffmpegsWriting(t *testing.T, out string) int {
	t.Helper()
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 0 && filepath.Base(args[0]) == "ffmpeg" && strings.Contains(string(b), partialPath(out)) {
			stat, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
			if !strings.Contains(string(stat), ") Z ") { // zombies are gone already
				n++
			}
		}
	}
	return n
}

func TestRender_InputErrors(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("red.png", 64, 64, red)
	f.write("garbage.mp4", []byte("this is not a video at all, just text"))
	f.write("empty.png", nil)
	f.write("bomb.png", pngBomb(t, 100_000, 100_000))
	f.video("short.mp4", "testsrc2=size=160x120:rate=10:duration=1", false)
	tests := []struct {
		name, json string
		code       errcode.Code
		msg        string
	}{
		{"unreadable source", `{"source":{"path":"garbage.mp4"},"stickers":[{"type":"image","path":"red.png"}]}`, errcode.SourceUnreadable, "source"},
		{"missing source", `{"source":{"path":"nope.mp4"},"stickers":[{"type":"image","path":"red.png"}]}`, errcode.AssetNotFound, "nope.mp4"},
		{"image as source", `{"source":{"path":"red.png"},"stickers":[{"type":"image","path":"red.png"}]}`, errcode.SourceUnreadable, "not a video"},
		{"empty sticker", `{"source":` + canvas(1) + `,"stickers":[{"type":"image","path":"empty.png"}]}`, errcode.AssetUnsupported, "stickers[0]"},
		{"unreadable sticker", `{"source":` + canvas(1) + `,"stickers":[{"type":"image","path":"garbage.mp4"}]}`, errcode.AssetUnsupported, "stickers[0]"},
		{"video as sticker", `{"source":` + canvas(1) + `,"stickers":[{"type":"image","path":"short.mp4"}]}`, errcode.AssetUnsupported, "video cannot be a sticker"},
		{"decompression bomb", `{"source":` + canvas(1) + `,"stickers":[{"type":"image","path":"bomb.png"}]}`, errcode.AssetTooLarge, "100000x100000"},
		{"start after end of source", `{"source":{"path":"short.mp4"},"stickers":[{"type":"image","path":"red.png","start":5}]}`, errcode.SpecInvalid, "stickers[0].start"},
		{"unreadable font", `{"source":` + canvas(1) + `,"stickers":[{"type":"text","text":"x","font":"red.ttf"}]}`, errcode.AssetNotFound, "font"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.render("mp4", tt.json)
			if errcode.Of(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("want %s mentioning %q, got %v", tt.code, tt.msg, err)
			}
		})
	}
}

func TestRender_SourceTooLong(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	src := f.video("long.mp4", "testsrc2=size=160x120:rate=10:duration=3", false)
	cfg := testEngine.cfg
	cfg.Limits.MaxDuration = 2
	eng, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := spec.Parse([]byte(`{"source":{"path":"`+filepath.Base(src)+`"},"stickers":[{"type":"text","text":"x"}]}`), spec.ParseOptions{AllowPaths: true})
	_, err = eng.Render(context.Background(), Job{Spec: s, Resolver: FileResolver{Dir: f.dir}, Output: filepath.Join(f.dir, "o.mp4")})
	if errcode.Of(err) != errcode.AssetTooLarge {
		t.Fatalf("want ASSET_TOO_LARGE, got %v", err)
	}
}

func itoa64(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func atof(s string) float64 {
	var f float64
	_ = json.Unmarshal([]byte(s), &f)
	return f
}
