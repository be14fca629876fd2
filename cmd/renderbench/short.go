package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/render/spec"
)

// The short job is what a user's one-off `stickerctl render --local` costs
// on top of ffmpeg: a 10 s 1280×720 blank canvas with one moving line of
// text, where the engine's fixed costs (process start, configuration,
// the capability probe, writing the font, verifying the output) are not
// hidden by a long encode.
const shortSpec = `{
  "source": {"color": "#202840", "width": 1280, "height": 720, "duration": 10, "fps": 30},
  "stickers": [
    {"type": "text", "text": "Hello stickerd", "font": "sans", "size": 0.08, "color": "#FFFFFF",
     "x": 0.5, "y": 0.5, "keyframes": [{"t": 0, "x": 0.1}, {"t": 10, "x": 0.9}]}
  ],
  "output": {"format": "mp4", "quality": "standard"}
}`

// shortHandArgs is the same picture as an engineer would write it: the
// canvas from lavfi, the text by drawtext moving linearly across, the
// engine's "standard" encoder settings. Output path last.
func shortHandArgs(font, out string) []string {
	return []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error",
		"-f", "lavfi", "-i", "color=c=0x202840:s=1280x720:r=30:d=10",
		"-vf", "drawtext=fontfile=" + font + ":text='Hello stickerd':fontsize=50:fontcolor=white:x=(0.1+0.8*((t-0)/10))*w-tw/2:y=0.5*h-th/2",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", out}
}

// shortJob is the short job's two sides and a cold-cache variant of the
// engine's.
type shortJob struct {
	dir, specPath, font string
	stickerctl          string // "" when it could not be built: the engine runs in this process
	how                 string // how the engine side runs, for the table
}

// newShortJob writes the spec and the hand-written side's font into dir
// and builds stickerctl, so that each engine run is a new process doing
// exactly what a user's `stickerctl render --local` does.
func newShortJob(ctx context.Context, dir string) (*shortJob, error) {
	j := &shortJob{dir: dir, specPath: filepath.Join(dir, "short.json"), font: filepath.Join(dir, "GoRegular.ttf")}
	if err := os.WriteFile(j.specPath, []byte(shortSpec), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(j.font, goregular.TTF, 0o644); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "stickerctl")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/stickerd/stickerd/cmd/stickerctl")
	if b, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "renderbench: cannot build stickerctl (%v); the short job's engine side runs New + Render in this process\n%s", err, b)
		j.how = "engine, New + Render per run"
		return j, nil
	}
	j.stickerctl, j.how = bin, "stickerctl render --local"
	return j, nil
}

// engine renders the short job as `stickerctl render --local` does; with
// cacheHome set, with that folder as the user's cache ($XDG_CACHE_HOME), so
// a new empty one is a first run on this machine.
func (j *shortJob) engine(ctx context.Context, out, cacheHome string) error {
	if j.stickerctl == "" {
		return j.engineInProcess(ctx, out, cacheHome)
	}
	cmd := exec.CommandContext(ctx, j.stickerctl, "render", "--local", "-q", j.specPath, "-o", out)
	if cacheHome != "" {
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cacheHome)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("stickerctl: %v\n%s", err, stderr.Bytes())
	}
	return nil
}

func (j *shortJob) engineInProcess(ctx context.Context, out, cacheHome string) error {
	if cacheHome != "" {
		old, had := os.LookupEnv("XDG_CACHE_HOME")
		os.Setenv("XDG_CACHE_HOME", cacheHome)
		defer func() {
			if had {
				os.Setenv("XDG_CACHE_HOME", old)
			} else {
				os.Unsetenv("XDG_CACHE_HOME")
			}
		}()
	}
	data, err := os.ReadFile(j.specPath)
	if err != nil {
		return err
	}
	s, err := spec.Parse(data, spec.ParseOptions{AllowPaths: true})
	if err != nil {
		return err
	}
	eng, err := render.New(ctx, render.DefaultConfig())
	if err != nil {
		return err
	}
	_, err = eng.Render(ctx, render.Job{Spec: s, Resolver: render.FileResolver{Dir: j.dir}, Output: out})
	return err
}

func (j *shortJob) hand(ctx context.Context, out string) error {
	cmd := exec.CommandContext(ctx, "ffmpeg", shortHandArgs(j.font, out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("hand-written ffmpeg: %v\n%s", err, b)
	}
	return nil
}

// coldCache returns a new, empty cache home for run i.
func (j *shortJob) coldCache(i int) (string, error) {
	d := filepath.Join(j.dir, "cold-cache-"+strconv.Itoa(i))
	if err := os.RemoveAll(d); err != nil {
		return "", err
	}
	return d, nil
}

// sameBytes reports whether two files are byte-identical.
func sameBytes(a, b string) (bool, error) {
	x, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	y, err := os.ReadFile(b)
	if err != nil {
		return false, err
	}
	if len(x) == 0 {
		return false, errors.New(a + " is empty")
	}
	return bytes.Equal(x, y), nil
}
