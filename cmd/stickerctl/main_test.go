package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRenderLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("renders video")
	}
	dir := t.TempDir()
	specPath := filepath.Join(dir, "spec.json")
	os.WriteFile(specPath, []byte(`{"source":{"color":"#000000","width":160,"height":120,"duration":1,"fps":10},
		"stickers":[{"type":"image","builtin":"star","width":0.5},{"type":"text","text":"hi","y":0.8}]}`), 0o644)
	out := filepath.Join(dir, "out.mp4")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"render", "--local", specPath, "-o", out}, io.Discard, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("no output: %v", err)
	}
	if !strings.Contains(stderr.String(), "progress 100%") || !strings.Contains(stderr.String(), "encoder libx264") {
		t.Fatalf("stderr lacks progress or summary:\n%s", stderr.String())
	}
}

func TestRender_ExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"source":{"color":"#000000","width":160,"height":120,"duration":1},
		"stickers":[{"type":"image","builtin":"star","x":7,"colour":"red"}]}`), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		msg  []string
	}{
		{"no args", nil, exitUsage, []string{"usage"}},
		{"unknown command", []string{"paint"}, exitUsage, []string{"unknown command"}},
		{"missing output", []string{"render", "--local", bad}, exitUsage, []string{"-o OUT"}},
		{"missing spec file", []string{"render", "--local", filepath.Join(dir, "none.json"), "-o", "x.mp4"}, exitUsage, []string{"no such file"}},
		{"invalid spec", []string{"render", "--local", bad, "-o", filepath.Join(dir, "x.mp4")}, exitInvalid,
			[]string{"SPEC_INVALID", "stickers[0].x", "stickers[0].colour: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(context.Background(), tt.args, io.Discard, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr.String())
			}
			for _, m := range tt.msg {
				if !strings.Contains(stderr.String(), m) {
					t.Errorf("stderr lacks %q:\n%s", m, stderr.String())
				}
			}
		})
	}
}

// Every way of asking for help, of stickerctl and of each command, prints
// it on stdout and exits 0 with nothing on stderr. The binary is built once
// and run as a user would.
func TestHelp_EveryCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "stickerctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	type call struct {
		args []string
		want string
	}
	calls := []call{{[]string{"-h"}, "stickerctl COMMAND -h"}, {[]string{"--help"}, "stickerctl COMMAND -h"},
		{[]string{"-help"}, "stickerctl COMMAND -h"}, {[]string{"help"}, "stickerctl COMMAND -h"}}
	for name, synopsis := range map[string]string{"render": renderSynopsis, "status": statusSynopsis,
		"cancel": cancelSynopsis, "stickers": stickersSynopsis} {
		for _, args := range [][]string{{name, "-h"}, {name, "--help"}, {name, "-help"}, {"help", name},
			{name, "--server", "http://127.0.0.1:1", "ARG", "--help"}} {
			calls = append(calls, call{args, "usage: " + synopsis})
		}
	}
	for _, c := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, c.args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		line := "stickerctl " + strings.Join(c.args, " ")
		if err != nil || stderr.Len() > 0 || !strings.Contains(stdout.String(), c.want) {
			t.Errorf("%s: %v\nstdout:\n%s\nstderr:\n%s\nwant exit 0, %q on stdout, nothing on stderr", line, err, stdout.String(), stderr.String(), c.want)
		}
	}
}

func TestBadFlag_IsAUsageError(t *testing.T) {
	for _, name := range []string{"render", "status", "cancel", "stickers"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{name, "--bogus"}, &stdout, &stderr); code != exitUsage ||
			!strings.Contains(stderr.String(), "flag provided but not defined: -bogus") || stdout.Len() > 0 {
			t.Errorf("%s --bogus: exit %d, stdout %q, stderr:\n%s", name, code, stdout.String(), stderr.String())
		}
	}
}
