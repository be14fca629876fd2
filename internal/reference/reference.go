package reference

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/stickerd/stickerd/render/builtin"
)

// Spec is the reference job over the files WriteInputs writes, named
// relative to their folder (parse it with paths allowed).
const Spec = `{
  "source": {"path": "source.mp4"},
  "stickers": [
    {"type": "image", "path": "heart.png", "x": 0.2, "y": 0.3, "width": 0.15,
     "keyframes": [{"t": 0, "x": 0.1}, {"t": 8, "x": 0.9, "easing": "ease-in-out"}]},
    {"type": "image", "path": "confetti.gif", "x": 0.8, "y": 0.7, "width": 0.2},
    {"type": "text", "text": "Hello stickerd", "font": "sans", "size": 0.08, "color": "#FFFFFF",
     "stroke_color": "#000000", "stroke_width": 0.004, "x": 0.5, "y": 0.85}
  ],
  "output": {"format": "mp4", "quality": "standard"}
}`

// WriteSource writes the reference source to path with ffmpeg: seconds
// of testsrc2 at 1280×720 and 30 fps (its detail keeps an encoder honest)
// and a sine tone, as H.264 and AAC.
func WriteSource(ctx context.Context, ffmpeg, path string, seconds float64) error {
	d := strconv.FormatFloat(seconds, 'f', -1, 64)
	cmd := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration="+d,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+d,
		"-c:v", "libx264", "-preset", "medium", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("making the source: %v\n%s", err, b)
	}
	return nil
}

// WriteStickers writes the catalogue's heart (heart.png) and confetti
// (confetti.gif) into dir and returns their paths by name.
func WriteStickers(dir string) (map[string]string, error) {
	files := map[string]string{}
	for _, name := range []string{"heart", "confetti"} {
		p, err := builtin.Path(dir, name)
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(dir, name+filepath.Ext(p))
		if err := os.Rename(p, dst); err != nil {
			return nil, err
		}
		files[name] = dst
	}
	return files, nil
}

// WriteInputs writes every file Spec reads into dir, the source seconds
// long, and returns their paths by role: "source", "heart", "confetti".
func WriteInputs(ctx context.Context, ffmpeg, dir string, seconds float64) (map[string]string, error) {
	src := filepath.Join(dir, "source.mp4")
	if err := WriteSource(ctx, ffmpeg, src, seconds); err != nil {
		return nil, err
	}
	files, err := WriteStickers(dir)
	if err != nil {
		return nil, err
	}
	files["source"] = src
	return files, nil
}
