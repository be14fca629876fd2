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

type refJob struct {
	spec     []byte
	handArgs []string // ffmpeg arguments without the output path
}

// makeReference writes the inputs of the reference job into dir: the
// source video (with audio), a PNG and a GIF sticker from the catalogue,
// and the font the hand-written drawtext uses (the engine's sans font).
func makeReference(ctx context.Context, dir string) (*refJob, error) {
	src := filepath.Join(dir, "source.mp4")
	if _, err := os.Stat(src); err != nil {
		if err := reference.WriteSource(ctx, "ffmpeg", src, 10); err != nil {
			return nil, err
		}
	}
	if _, err := reference.WriteStickers(dir); err != nil {
		return nil, err
	}
	font := filepath.Join(dir, "GoRegular.ttf")
	if err := os.WriteFile(font, goregular.TTF, 0o644); err != nil {
		return nil, err
	}
	confetti, err := builtin.Lookup("confetti")
	if err != nil {
		return nil, err
	}
	spec := []byte(reference.Spec)
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
		"-i", filepath.Join(dir, "source.mp4"), "-i", filepath.Join(dir, "heart.png"), "-i", filepath.Join(dir, "confetti.gif"),
		"-filter_complex", graph, "-map", "[v]", "-map", "0:a",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
		"-c:a", "aac", "-b:a", "128000", "-f", "mp4"}
	return &refJob{spec: spec, handArgs: args}, nil
}
