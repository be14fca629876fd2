package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDiffFrames(t *testing.T) {
	const w, h = 64, 32
	frame := func(edit func(x, y int) byte) []byte {
		f := make([]byte, w*h*3)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for c := 0; c < 3; c++ {
					f[(y*w+x)*3+c] = edit(x, y)
				}
			}
		}
		return f
	}
	base := frame(func(x, y int) byte { return byte(x * 4) })
	tests := []struct {
		name   string
		other  []byte
		within bool
	}{
		{"identical", frame(func(x, y int) byte { return byte(x * 4) }), true},
		{"off by one everywhere (encoder noise)", frame(func(x, y int) byte { return byte(x*4) + 1 }), true},
		// A sticker missing from one 16x16 block: small against the
		// frame, plain in the block.
		{"a block missing", frame(func(x, y int) byte {
			if x >= 16 && x < 32 && y < 16 {
				return 255
			}
			return byte(x * 4)
		}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := diffFrames([][]byte{base, base}, [][]byte{base, tt.other}, w, h)
			if d.Frames != 2 || d.within(30, 48) != tt.within {
				t.Fatalf("%s: within %v, want %v", d, d.within(30, 48), tt.within)
			}
		})
	}
	if d := diffFrames([][]byte{base}, [][]byte{base}, w, h); d.PSNR != identicalPSNR || d.MeanAbs != 0 || d.WorstBlock != 0 {
		t.Fatalf("identical frames: %+v", d)
	}
}

// TestCompareRenders decodes real files: a clip against itself, and
// against the same clip with a 40x40 box drawn on it.
func TestCompareRenders(t *testing.T) {
	if testing.Short() {
		t.Skip("renders video")
	}
	dir := t.TempDir()
	clip := func(name, vf string) string {
		out := filepath.Join(dir, name)
		args := []string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=2"}
		if vf != "" {
			args = append(args, "-vf", vf)
		}
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", out)
		if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		return out
	}
	a, b := clip("a.mp4", ""), clip("b.mp4", "drawbox=x=100:y=100:w=40:h=40:color=white:t=fill")
	same, err := compareRenders(context.Background(), "ffmpeg", a, a, 320, 240, 1)
	if err != nil || same.Frames != 2 || same.PSNR != identicalPSNR {
		t.Fatalf("a against a: %v, %v", same, err)
	}
	boxed, err := compareRenders(context.Background(), "ffmpeg", a, b, 320, 240, 1)
	if err != nil || boxed.within(30, 48) {
		t.Fatalf("a against a with a box: %v (within), %v", boxed, err)
	}
}

// TestRun_CPUOnly runs the whole benchmark on this machine, which has no
// GPU: it says why, measures the CPU path alone and writes its results.
func TestRun_CPUOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("renders video")
	}
	out := t.TempDir()
	o := options{out: out, ffmpeg: "ffmpeg", ffprobe: "ffprobe", smi: filepath.Join(out, "no-nvidia-smi"),
		seconds: 1, runs: 1, rounds: 1, maxLevel: 2, rise: 0.05, minPSNR: 30, maxBlock: 48, sampleFPS: 1, budget: time.Minute}
	var log strings.Builder
	rep, err := run(context.Background(), o, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if err := rep.write(out); err != nil {
		t.Fatal(err)
	}
	if rep.GPUPath || !strings.Contains(log.String(), "GPU path unavailable: no GPU chain passed its start-up trial: nvidia-smi not found") {
		t.Fatalf("the missing GPU is not reported:\n%s", log.String())
	}
	if len(rep.Sides) != 1 || rep.Sides[0].Chain != "cpu" || rep.Sides[0].Realtime <= 0 || rep.Pixels != nil {
		t.Fatalf("sides %+v, pixels %+v", rep.Sides, rep.Pixels)
	}
	if len(rep.Sweeps) != 1 || len(rep.Sweeps[0].Levels) == 0 || rep.Sweeps[0].Levels[0].Throughput <= 0 {
		t.Fatalf("sweeps %+v", rep.Sweeps)
	}
	var back report
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil || json.Unmarshal(b, &back) != nil || back.GPUMissing == "" {
		t.Fatalf("results.json: %v\n%s", err, b)
	}
	if md, err := os.ReadFile(filepath.Join(out, "results.md")); err != nil || !strings.Contains(string(md), "## Concurrency sweep, cpu path") {
		t.Fatalf("results.md: %v\n%s", err, md)
	}
}
