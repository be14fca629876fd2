package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needTool skips without a program, or fails when CI is set: CI machines
// must have every tool (scripts/deps.sh installs them).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed and CI is set: run scripts/deps.sh", name)
	}
	t.Skipf("%s is not installed (scripts/deps.sh installs it)", name)
	return ""
}

// makeVideo writes an H.264 + AAC mp4 made with lavfi: a moving test
// pattern and a tone.
func makeVideo(t *testing.T, path string, w, h int, seconds float64) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=25:duration=%g", w, h, seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%g", seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", path, err, out)
	}
}

// solidPNG is a w×h PNG of one colour.
func solidPNG(t *testing.T, w, h int, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var red = color.NRGBA{R: 255, A: 255}

// frame is one decoded RGB picture.
type frame struct {
	w, h int
	rgb  []byte
}

// decodeFrame decodes the frame of a video (or picture) at the given
// second as w×h RGB.
func decodeFrame(t *testing.T, path string, at float64, w, h int) frame {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-ss", fmt.Sprint(at), "-i", path, "-frames:v", "1",
		"-vf", fmt.Sprintf("scale=%d:%d", w, h), "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	if err != nil || len(out) != w*h*3 {
		t.Fatalf("decoding %s at %gs: %v (%d bytes)", path, at, err, len(out))
	}
	return frame{w, h, out}
}

// at is the pixel at the fractions (fx, fy) of the frame.
func (f frame) at(fx, fy float64) [3]int {
	x, y := min(int(fx*float64(f.w)), f.w-1), min(int(fy*float64(f.h)), f.h-1)
	i := (y*f.w + x) * 3
	return [3]int{int(f.rgb[i]), int(f.rgb[i+1]), int(f.rgb[i+2])}
}

func isRed(p [3]int) bool { return p[0] > 200 && p[1] < 70 && p[2] < 70 }

// closeTo reports whether two pixels differ by at most tol per channel.
func closeTo(a, b [3]int, tol int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// streams lists the codec types of a media file's streams ("video", "audio").
func streams(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return strings.Join(strings.Fields(string(out)), ",")
}

// ffmpegsUnder counts the live ffmpeg processes whose command line names
// dir (a worker's work folder).
func ffmpegsUnder(dir string) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if filepath.Base(args[0]) != "ffmpeg" || !strings.Contains(string(b), dir) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
		if !strings.Contains(string(stat), ") Z ") { // a zombie is gone already
			n++
		}
	}
	return n
}
