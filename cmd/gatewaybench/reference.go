package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/stickerd/stickerd/internal/reference"
	"github.com/stickerd/stickerd/render/builtin"
)

// textFontSize matches the engine's text sticker: size 0.08 of 720 px is a
// 57.6 px line, and render/text sets Go Regular at 0.865 of the line height.
const textFontSize = 50

// reference is the render issue's reference job (cmd/renderbench's): its
// input files, the spec over uploaded assets, and the hand-written ffmpeg
// command that draws the same picture.
type refJob struct {
	// files are the inputs by role: "source", "heart", "confetti".
	files    map[string]string
	handArgs []string // ffmpeg arguments without the output path
}

// makeReference writes the inputs into dir: a 10 s 1280×720 30 fps source
// with audio, a PNG and a GIF sticker from the catalogue, and the font the
// hand-written drawtext uses (the engine's sans font).
func makeReference(ctx context.Context, dir string) (*refJob, error) {
	files, err := reference.WriteInputs(ctx, "ffmpeg", dir, 10)
	if err != nil {
		return nil, err
	}
	src := files["source"]
	font := filepath.Join(dir, "GoRegular.ttf")
	if err := os.WriteFile(font, goregular.TTF, 0o644); err != nil {
		return nil, err
	}
	confetti, err := builtin.Lookup("confetti")
	if err != nil {
		return nil, err
	}
	// What an engineer would write by hand for the same picture: the PNG
	// read once and moved by overlay expressions, the GIF looped in the
	// graph, the text drawn by drawtext with a border, the same encoder
	// settings as the engine's "standard" quality.
	ease := "if(lt(t,0),0.1,if(lt(t,8),0.1+0.8*if(lt(t/8,0.5),2*pow(t/8,2),1-2*pow(1-t/8,2)),0.9))"
	graph := fmt.Sprintf("[1:v]format=rgba,scale=192:-1[heart];"+
		"[0:v][heart]overlay=x='(%s)*W-w/2':y='0.3*H-h/2'[v1];"+
		"[2:v]format=rgba,scale=256:-1,loop=loop=-1:size=%d,trim=end=10[conf];"+
		"[v1][conf]overlay=x='0.8*W-w/2':y='0.7*H-h/2'[v2];"+
		"[v2]drawtext=fontfile=%s:text='Hello stickerd':fontsize=%d:fontcolor=white:borderw=3:bordercolor=black:x=(w-tw)/2:y=0.85*h-th/2[v]",
		ease, confetti.Frames, font, textFontSize)
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error",
		"-i", src, "-i", files["heart"], "-i", files["confetti"],
		"-filter_complex", graph, "-map", "[v]", "-map", "0:a",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
		"-c:a", "aac", "-b:a", "128000", "-f", "mp4"}
	return &refJob{files: files, handArgs: args}, nil
}

// spec is the reference job over uploaded assets; nonce (in metadata)
// keeps the result cache from answering a repeat.
func (r *refJob) spec(ids map[string]string, nonce string) string {
	return fmt.Sprintf(`{
  "source": {"asset_id": %q},
  "stickers": [
    {"type": "image", "asset_id": %q, "x": 0.2, "y": 0.3, "width": 0.15,
     "keyframes": [{"t": 0, "x": 0.1}, {"t": 8, "x": 0.9, "easing": "ease-in-out"}]},
    {"type": "image", "asset_id": %q, "x": 0.8, "y": 0.7, "width": 0.2},
    {"type": "text", "text": "Hello stickerd", "font": "sans", "size": 0.08, "color": "#FFFFFF",
     "stroke_color": "#000000", "stroke_width": 0.004, "x": 0.5, "y": 0.85}
  ],
  "output": {"format": "mp4", "quality": "standard"},
  "metadata": {"bench_run": %q}
}`, ids["source"], ids["heart"], ids["confetti"], nonce)
}
