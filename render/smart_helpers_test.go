package render

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/render/spec"
)

// The numbered source: every frame shows its number as a row of
// numberBits black or white 16×16 blocks along the top edge (bit b at
// x = 16b), which survive any sensible compression, over testsrc2's
// moving picture, so every frame differs from its neighbours.
const (
	numberBits  = 10
	numberBlock = 16
)

// numberedSource writes a 320×240 30 fps H.264 + AAC source of the given
// length, with a keyframe every gop frames exactly (closed GOPs), audio
// that clicks at the start of every second, and extra ffmpeg options
// (a profile, x264 parameters) after the defaults.
func numberedSource(t testing.TB, dir, name string, seconds, gop int, extra ...string) string {
	t.Helper()
	var g strings.Builder
	fmt.Fprintf(&g, "testsrc2=s=320x240:r=30:d=%d", seconds)
	for b := range numberBits {
		fmt.Fprintf(&g, ",drawbox=x=%d:y=0:w=%d:h=%d:color=black:t=fill", b*numberBlock, numberBlock, numberBlock)
		fmt.Fprintf(&g, ",drawbox=x=%d:y=0:w=%d:h=%d:color=white:t=fill:enable='mod(floor(n/%d),2)'", b*numberBlock, numberBlock, numberBlock, 1<<b)
	}
	out := filepath.Join(dir, name)
	args := []string{"-v", "error", "-y", "-f", "lavfi", "-i", g.String(),
		"-f", "lavfi", "-i", fmt.Sprintf(`aevalsrc=if(lt(mod(t\,1)\,0.05)\,sin(2*PI*1000*t)\,0):s=48000:d=%d`, seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop),
		"-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"}
	args = append(append(args, extra...), out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", name, err, b)
	}
	return out
}

// decodedFrames decodes a video's frames (all of them, in display order,
// no rate conversion) and returns each frame's number, read from its
// blocks, and the MD5 of its full YUV 4:2:0 picture.
func decodedFrames(t testing.TB, path string, w, h int) (numbers []int, sums []string) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("decoding %s: %v %s", path, err, stderr.String())
	}
	size := w*h + 2*(w/2)*(h/2)
	if len(raw)%size != 0 {
		t.Fatalf("decoding %s: %d bytes is not a whole number of %dx%d frames", path, len(raw), w, h)
	}
	for off := 0; off < len(raw); off += size {
		f := raw[off : off+size]
		n := 0
		for b := range numberBits {
			// Block centres, scaled when the output is not 320×240.
			x, y := (b*numberBlock+numberBlock/2)*w/320, numberBlock/2*h/240
			if f[y*w+x] > 128 {
				n |= 1 << b
			}
		}
		numbers = append(numbers, n)
		sums = append(sums, fmt.Sprintf("%x", md5.Sum(f)))
	}
	return numbers, sums
}

// packetTimes lists a stream's packet timestamps (pts_time) in decode
// order, as ffprobe prints them.
func packetTimes(t testing.TB, path, stream string) []string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return strings.Fields(string(out))
}

// smartSpec is a spec over a source with red image stickers shown in the
// given [start, end) windows, below the number blocks.
func smartSpec(t testing.TB, dir, source string, output string, windows ...[2]float64) *spec.Spec {
	t.Helper()
	f := fixtures{t: t.(*testing.T), dir: dir}
	f.png("sticker.png", 40, 40, red)
	var st []string
	for _, w := range windows {
		st = append(st, fmt.Sprintf(`{"type":"image","path":"sticker.png","x":0.5,"y":0.6,"width":0.3,"start":%g,"end":%g}`, w[0], w[1]))
	}
	if output == "" {
		output = `{"format":"mp4"}`
	}
	js := fmt.Sprintf(`{"source":{"path":%q},"stickers":[%s],"output":%s}`, source, strings.Join(st, ","), output)
	s, err := spec.Parse([]byte(js), spec.ParseOptions{AllowPaths: true})
	if err != nil {
		t.Fatalf("spec refused: %v", err)
	}
	return s
}

func localJob(s *spec.Spec, dir, out string) Job {
	return Job{Spec: s, Resolver: FileResolver{Dir: dir}, Output: out}
}

// checkNumbered checks that a decoded output shows frames 0..n-1 in order.
func checkNumbered(t *testing.T, what string, numbers []int, n int) {
	t.Helper()
	if len(numbers) != n {
		t.Errorf("%s: %d frames, want %d", what, len(numbers), n)
	}
	for i, got := range numbers {
		if got != i {
			lo, hi := max(0, i-3), min(len(numbers), i+4)
			t.Fatalf("%s: frame %d shows number %d (frames %d..%d show %v)", what, i, got, lo, hi-1, numbers[lo:hi])
		}
	}
}

func renderCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

func mustStat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
