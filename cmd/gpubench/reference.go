package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/stickerd/stickerd/render/builtin"
)

// referenceSpec is renderbench's reference job: a 1280×720 30 fps source
// with audio, a keyframed PNG, a looping animated GIF and a line of text
// with a stroke, to mp4. On the CPU chain the text is drawtext's; on a
// GPU chain it is rasterised and uploaded like the pictures.
const referenceSpec = `{
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

// makeReference writes the reference job's inputs into dir: a source of
// the given length (testsrc2, whose detail keeps the encoder honest, and
// a sine tone), and the heart and confetti stickers of the catalogue.
func makeReference(ctx context.Context, ffmpeg, dir string, seconds float64) error {
	d := strconv.FormatFloat(seconds, 'f', -1, 64)
	cmd := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration="+d,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+d,
		"-c:v", "libx264", "-preset", "medium", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
		filepath.Join(dir, "source.mp4"))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("making the source: %v\n%s", err, b)
	}
	for _, name := range []string{"heart", "confetti"} {
		p, err := builtin.Path(dir, name)
		if err != nil {
			return err
		}
		if err := os.Rename(p, filepath.Join(dir, name+filepath.Ext(p))); err != nil {
			return err
		}
	}
	return nil
}
