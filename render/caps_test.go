package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBin writes an executable shell script; fakes over mocks.
func fakeBin(t *testing.T, dir, name, script string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeFFmpeg answers -version, -encoders and -filters like ffmpeg 5.1,
// and fails an NVENC trial encode unless NVENC_OK is set in the script.
const fakeFFmpegScript = `
case "$*" in
*-version*) echo "ffmpeg version 5.1.9-0+deb12u1 Copyright";;
*-encoders*) printf 'Encoders:\n V..... = Video\n ------\n V....D libx264   libx264 H.264\n V....D h264_nvenc  NVIDIA NVENC\n A..... aac  AAC\n';;
*-filters*) printf 'Filters:\n  T.. = Timeline support\n ... scale_cuda   V->V   GPU scaler\n TSC overlay  VV->V  Overlay\n';;
*h264_nvenc*) if [ -n "$NVENC_OK" ]; then exit 0; else echo "OpenEncodeSessionEx failed: unsupported device (2): (no details)" >&2; exit 1; fi;;
esac
`

func TestDetectCapabilities_GPUStates(t *testing.T) {
	tests := []struct {
		name      string
		smi       string // nvidia-smi script; "" = absent
		nvencOK   bool
		state     GPUState
		encoder   string
		reasonHas string
	}{
		{"no GPU", "", false, GPUNone, "libx264", "no NVIDIA GPU"},
		{"broken driver", `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver" >&2; exit 9`, false, GPUBroken, "libx264", "nvidia-smi failed"},
		{"CUDA without NVENC", `echo "NVIDIA H100 80GB HBM3, 550.54.15"`, false, GPUCUDAOnly, "libx264", "no usable NVENC"},
		{"CUDA with NVENC", `echo "NVIDIA L4, 550.54.15"`, true, GPUCUDANVENC, "h264_nvenc", "NVENC available on NVIDIA L4"},
		{"empty list", `true`, false, GPUNone, "libx264", "lists no GPU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			script := fakeFFmpegScript
			if tt.nvencOK {
				script = "NVENC_OK=1\n" + script
			}
			cfg := DefaultConfig()
			cfg.FFmpeg = fakeBin(t, dir, "ffmpeg", script)
			cfg.NvidiaSMI = filepath.Join(dir, "nvidia-smi")
			if tt.smi != "" {
				fakeBin(t, dir, "nvidia-smi", tt.smi)
			}
			c := DetectCapabilities(context.Background(), cfg)
			if c.FFmpegVersion != "5.1.9-0+deb12u1" || !c.Has("libx264") || !c.Has("h264_nvenc") || !c.Filters["scale_cuda"] {
				t.Fatalf("parsed build wrong: %+v", c)
			}
			if c.GPU != tt.state {
				t.Fatalf("GPU state %s (%s), want %s", c.GPU, c.GPUDetail, tt.state)
			}
			ch := c.chooseVideoEncoder("mp4")
			if ch.Name != tt.encoder || !strings.Contains(ch.Reason, tt.reasonHas) {
				t.Fatalf("choice %+v, want %s because %q", ch, tt.encoder, tt.reasonHas)
			}
			if got := c.chooseVideoEncoder("webm").Name; got != "libvpx-vp9" {
				t.Fatalf("webm encoder %s", got)
			}
		})
	}
}

func TestDetectCapabilities_DisableGPU(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.FFmpeg = fakeBin(t, dir, "ffmpeg", "NVENC_OK=1\n"+fakeFFmpegScript)
	cfg.NvidiaSMI = fakeBin(t, dir, "nvidia-smi", `echo "NVIDIA L4, 550"`)
	cfg.DisableGPU = true
	c := DetectCapabilities(context.Background(), cfg)
	if ch := c.chooseVideoEncoder("mp4"); ch.Name != "libx264" || !strings.Contains(ch.Reason, "disabled") {
		t.Fatalf("choice %+v", ch)
	}
}

func TestEngine_ReportsRealCapabilities(t *testing.T) {
	c := testEngine.Capabilities()
	if !strings.HasPrefix(c.FFmpegVersion, "5") && !strings.HasPrefix(c.FFmpegVersion, "6") && !strings.HasPrefix(c.FFmpegVersion, "7") {
		t.Logf("ffmpeg version %q", c.FFmpegVersion)
	}
	if !c.Has("libx264") || !c.Has("libvpx-vp9") || !c.Has("libwebp_anim") || !c.Filters["overlay"] {
		t.Fatalf("this ffmpeg lacks what the engine needs: %+v", c)
	}
	if ch := testEngine.Encoder("mp4"); ch.Reason == "" {
		t.Fatal("encoder choice without a reason")
	}
}
