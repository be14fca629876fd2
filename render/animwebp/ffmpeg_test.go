package animwebp

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestFFmpegReadsAPNG converts every fixture and checks that ffprobe sees an
// APNG with the right size, frame count and timing, and that ffmpeg decodes
// it back to exactly the frames Decode returns.
func TestFFmpegReadsAPNG(t *testing.T) {
	ffmpeg, err1 := exec.LookPath("ffmpeg")
	ffprobe, err2 := exec.LookPath("ffprobe")
	if err1 != nil || err2 != nil {
		t.Skip("ffmpeg or ffprobe not on PATH")
	}
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			frames, info, err := Decode(bytes.NewReader(data), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out.png")
			f, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ConvertToAPNG(bytes.NewReader(data), f, DefaultLimits()); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()

			probe, err := exec.CommandContext(ctx, ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
				"-show_entries", "stream=codec_name,width,height,nb_read_frames:packet=duration_time",
				"-of", "json", out).Output()
			if err != nil {
				t.Fatalf("ffprobe: %v", err)
			}
			var p struct {
				Streams []struct {
					CodecName     string `json:"codec_name"`
					Width, Height int
					NbReadFrames  string `json:"nb_read_frames"`
				}
				Packets []struct {
					DurationTime string `json:"duration_time"`
				}
			}
			if err := json.Unmarshal(probe, &p); err != nil || len(p.Streams) != 1 {
				t.Fatalf("ffprobe output %s: %v", probe, err)
			}
			s := p.Streams[0]
			if s.CodecName != "apng" || s.Width != info.Width || s.Height != info.Height || s.NbReadFrames != strconv.Itoa(len(frames)) {
				t.Errorf("ffprobe: %+v, want apng %dx%d with %d frames", s, info.Width, info.Height, len(frames))
			}
			if info.Animated {
				if len(p.Packets) != len(frames) {
					t.Fatalf("ffprobe: %d packets, want %d", len(p.Packets), len(frames))
				}
				for i, pk := range p.Packets {
					sec, err := strconv.ParseFloat(pk.DurationTime, 64)
					if err != nil || time.Duration(sec*1e9+0.5) != frames[i].Delay {
						t.Errorf("packet %d duration %q, want %v", i, pk.DurationTime, frames[i].Delay)
					}
				}
			}

			raw, err := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-i", out,
				"-vsync", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgba", "-").Output()
			if err != nil {
				t.Fatalf("ffmpeg: %v", err)
			}
			size := 4 * info.Width * info.Height
			if len(raw) != size*len(frames) {
				t.Fatalf("ffmpeg produced %d bytes, want %d frames of %d", len(raw), len(frames), size)
			}
			for i, f := range frames {
				if !bytes.Equal(raw[i*size:(i+1)*size], f.Image.Pix) {
					t.Errorf("frame %d decoded by ffmpeg differs", i)
				}
			}
		})
	}
}
