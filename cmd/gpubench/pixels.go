package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
)

// pixelDiff compares two renders of the same job frame by frame, on the
// frames at every sampled second, in RGB. PSNR summarises the whole
// picture; WorstBlock is the largest mean difference of any 16×16 block,
// which a missing or misplaced sticker raises however small it is next to
// the frame (a lost 192×192 heart hardly moves a 1280×720 PSNR).
type pixelDiff struct {
	Frames     int     `json:"frames"`
	MeanAbs    float64 `json:"mean_abs_diff"` // 0..255, per channel
	PSNR       float64 `json:"psnr_db"`       // identicalPSNR when identical
	WorstBlock float64 `json:"worst_block_mean_abs_diff"`
}

func (d pixelDiff) String() string {
	psnr := "identical"
	if d.PSNR < identicalPSNR {
		psnr = fmt.Sprintf("%.2f dB", d.PSNR)
	}
	return fmt.Sprintf("PSNR %s, mean |diff| %.2f, worst 16x16 block %.1f (%d frames)", psnr, d.MeanAbs, d.WorstBlock, d.Frames)
}

// identicalPSNR stands for identical pictures (an infinite PSNR, which
// JSON cannot carry); 8-bit pictures that differ at all score below it.
const identicalPSNR = 100

// within reports whether the difference is within tolerance.
func (d pixelDiff) within(minPSNR, maxBlock float64) bool {
	return d.Frames > 0 && d.PSNR >= minPSNR && d.WorstBlock <= maxBlock
}

// compareRenders decodes both files at fps frames a second (the same
// instants in each) and compares them.
func compareRenders(ctx context.Context, ffmpeg, a, b string, w, h int, fps float64) (pixelDiff, error) {
	fa, err := sampleFrames(ctx, ffmpeg, a, w, h, fps)
	if err != nil {
		return pixelDiff{}, err
	}
	fb, err := sampleFrames(ctx, ffmpeg, b, w, h, fps)
	if err != nil {
		return pixelDiff{}, err
	}
	if len(fa) != len(fb) {
		return pixelDiff{}, fmt.Errorf("%d sampled frames against %d: the renders differ in length", len(fa), len(fb))
	}
	return diffFrames(fa, fb, w, h), nil
}

// sampleFrames decodes a video to RGB frames, fps a second.
func sampleFrames(ctx context.Context, ffmpeg, path string, w, h int, fps float64) ([][]byte, error) {
	cmd := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-i", path,
		"-vf", "fps="+strconv.FormatFloat(fps, 'f', -1, 64)+",scale="+strconv.Itoa(w)+":"+strconv.Itoa(h)+",format=rgb24",
		"-f", "rawvideo", "-")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("decoding %s: %v: %s", path, err, stderr.String())
	}
	size := w * h * 3
	raw := out.Bytes()
	if len(raw)%size != 0 || len(raw) == 0 {
		return nil, fmt.Errorf("decoding %s: %d bytes is not a whole number of %dx%d frames", path, len(raw), w, h)
	}
	var frames [][]byte
	for i := 0; i < len(raw); i += size {
		frames = append(frames, raw[i:i+size])
	}
	return frames, nil
}

// diffFrames compares RGB24 frames pairwise.
func diffFrames(a, b [][]byte, w, h int) pixelDiff {
	const block = 16
	var sum, sq float64
	var n int
	worst := 0.0
	for f := range a {
		bw, bh := (w+block-1)/block, (h+block-1)/block
		bsum := make([]float64, bw*bh)
		bcnt := make([]int, bw*bh)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := (y*w + x) * 3
				k := (y/block)*bw + x/block
				for c := 0; c < 3; c++ {
					d := math.Abs(float64(a[f][i+c]) - float64(b[f][i+c]))
					sum += d
					sq += d * d
					bsum[k] += d
				}
				bcnt[k] += 3
				n += 3
			}
		}
		for k := range bsum {
			worst = max(worst, bsum[k]/float64(bcnt[k]))
		}
	}
	d := pixelDiff{Frames: len(a), WorstBlock: worst, PSNR: identicalPSNR}
	if n > 0 {
		d.MeanAbs = sum / float64(n)
		if mse := sq / float64(n); mse > 0 {
			d.PSNR = min(identicalPSNR, 10*math.Log10(255*255/mse))
		}
	}
	return d
}
