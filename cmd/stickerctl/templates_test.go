package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

const greetingTemplate = `{"name":"greeting","spec":{
  "source":{"color":"#102030","width":320,"height":240,"duration":1,"fps":10},
  "stickers":[{"type":"text","text":"Hello {{name}}!","size":"{{size}}"}],
  "output":{"audio":"{{audio}}"}},
 "variables":{"name":{"type":"text","max_length":10,"label":"Name"},
  "size":{"type":"number","min":0.01,"max":0.5,"default":0.1},
  "audio":{"type":"boolean","default":false}}}`

// createTemplate runs stickerctl template create and returns the id.
func createTemplate(t *testing.T, url string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"tpl.json": []byte(greetingTemplate)})
	code, stdout, stderr := ctl(t, context.Background(), "template", "create", "--server", url, filepath.Join(dir, "tpl.json"))
	if code != exitOK || !strings.HasPrefix(stdout, "tpl_") || !strings.Contains(stdout, "version 1: greeting") {
		t.Fatalf("create: exit %d\n%s%s", code, stdout, stderr)
	}
	return strings.Fields(stdout)[0]
}

func TestTemplate_CreateListShowRender(t *testing.T) {
	fake, url := startFake(t, stickerdtest.Config{})
	id := createTemplate(t, url)
	code, stdout, _ := ctl(t, context.Background(), "template", "list", "--server", url)
	if code != exitOK || !strings.Contains(stdout, id) || !strings.Contains(stdout, "audio name size") {
		t.Fatalf("list: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = ctl(t, context.Background(), "template", "show", "--server", url, id)
	for _, want := range []string{id + " version 1: greeting", "name", "(required)", "at most 10 characters", "min 0.01; max 0.5"} {
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Fatalf("show: exit %d, lacks %q\n%s", code, want, stdout)
		}
	}
	out := filepath.Join(t.TempDir(), "hi.mp4")
	code, stdout, stderr := ctl(t, context.Background(), "template", "render", "--server", url,
		"--var", "name=Ann", "--var", "size=0.2", "--var", "audio=true", id, "-o", out)
	if code != exitOK || !strings.Contains(stdout, "succeeded") || !strings.Contains(stderr, "template "+id+" version 1") {
		t.Fatalf("render: exit %d\n%s%s", code, stdout, stderr)
	}
	subs := fake.Submits()
	if len(subs) != 1 || !strings.Contains(string(subs[0].Body), `"size":0.2`) || !strings.Contains(string(subs[0].Body), `"audio":true`) ||
		!strings.HasPrefix(subs[0].IdempotencyKey, "stickerctl-") {
		t.Fatalf("submitted %+v", subs)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("no output: %v", err)
	}
}

// Refusals exit 3 and print each field.
func TestTemplate_Refusals(t *testing.T) {
	_, url := startFake(t, stickerdtest.Config{})
	id := createTemplate(t, url)
	code, _, stderr := ctl(t, context.Background(), "template", "render", "--server", url, "--var", "name=Ann", "--var", "size=9", id)
	if code != exitInvalid || !strings.Contains(stderr, "variables.size: must be at most 0.5") {
		t.Fatalf("out of range: exit %d\n%s", code, stderr)
	}
	code, _, stderr = ctl(t, context.Background(), "template", "render", "--server", url, id)
	if code != exitInvalid || !strings.Contains(stderr, "variables.name: required") {
		t.Fatalf("missing: exit %d\n%s", code, stderr)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"bad.json": []byte(strings.Replace(greetingTemplate, "{{name}}", "{{nmae}}", 1))})
	code, _, stderr = ctl(t, context.Background(), "template", "create", "--server", url, filepath.Join(dir, "bad.json"))
	if code != exitInvalid || !strings.Contains(stderr, "spec.stickers[0].text: {{nmae}} is not a declared variable") {
		t.Fatalf("bad template: exit %d\n%s", code, stderr)
	}
	code, _, stderr = ctl(t, context.Background(), "template", "show", "--server", url, "tpl_nothere")
	if code != exitFailed || !strings.Contains(stderr, "NOT_FOUND") {
		t.Fatalf("show of none: exit %d\n%s", code, stderr)
	}
	if code, _, _ := ctl(t, context.Background(), "template", "paint"); code != exitUsage {
		t.Fatalf("unknown subcommand: exit %d", code)
	}
}

// batch submit: a progress bar over the batch, the rejected rows and the
// failed ones printed, and the exit code by outcome.
func TestBatch_SubmitExitCodes(t *testing.T) {
	tests := []struct {
		name  string
		cfg   stickerdtest.Config
		rows  string
		code  int
		lines []string
	}{
		{"every row succeeds", stickerdtest.Config{}, "name,size\nAnn,0.2\nBo,\n", exitOK,
			[]string{"2 rows, 2 accepted, 0 rejected", "progress 100%", "2 succeeded, 0 failed"}},
		{"rejected rows", stickerdtest.Config{}, "name,size\nAnn,0.2\nBo,big\nthis name is too long,\n", exitInvalid,
			[]string{"3 rows, 1 accepted, 2 rejected", "row 1: variables.size: must be a number", "row 2: variables.name: at most 10 characters",
				"1 succeeded, 0 failed, 0 canceled, 2 rejected"}},
		{"failed rows", stickerdtest.Config{Fail: &stickerdtest.JobError{Code: "FFMPEG_FAILED", Message: "boom"}}, "name\nAnn\n", exitFailed,
			[]string{"row 0 (job_", "failed: FFMPEG_FAILED: boom", "0 succeeded, 1 failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startFake(t, tt.cfg)
			id := createTemplate(t, url)
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{"rows.csv": []byte(tt.rows)})
			code, stdout, stderr := ctl(t, context.Background(), "batch", "submit", "--server", url, "--template", id, filepath.Join(dir, "rows.csv"))
			if code != tt.code || !strings.HasPrefix(stdout, "bat_") {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, stdout, stderr)
			}
			for _, l := range tt.lines {
				if !strings.Contains(stderr, l) {
					t.Errorf("stderr lacks %q:\n%s", l, stderr)
				}
			}
		})
	}
	_, url := startFake(t, stickerdtest.Config{})
	code, _, stderr := ctl(t, context.Background(), "batch", "submit", "--server", url, "rows.csv")
	if code != exitUsage || !strings.Contains(stderr, "--template is required") {
		t.Fatalf("no template: exit %d\n%s", code, stderr)
	}
	id := createTemplate(t, url)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"rows.csv": []byte("name,nmae\na,b\n")})
	code, _, stderr = ctl(t, context.Background(), "batch", "submit", "--server", url, "--template", id, filepath.Join(dir, "rows.csv"))
	if code != exitInvalid || !strings.Contains(stderr, "columns.nmae") {
		t.Fatalf("bad header: exit %d\n%s", code, stderr)
	}
}

func TestBatch_StatusAndCancel(t *testing.T) {
	_, url := startFake(t, stickerdtest.Config{Hold: true})
	id := createTemplate(t, url)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"rows.csv": []byte("name\nAnn\nBo\n")})
	code, stdout, stderr := ctl(t, context.Background(), "batch", "submit", "--no-wait", "--server", url, "--template", id, filepath.Join(dir, "rows.csv"))
	if code != exitOK {
		t.Fatalf("submit: exit %d\n%s", code, stderr)
	}
	bat := strings.TrimSpace(stdout)
	code, stdout, _ = ctl(t, context.Background(), "batch", "status", "--server", url, bat)
	if code != exitOK || !strings.Contains(stdout, "batch "+bat+" running") {
		t.Fatalf("status: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = ctl(t, context.Background(), "batch", "cancel", "--server", url, bat)
	if code != exitOK || !strings.Contains(stdout, "2 canceled") {
		t.Fatalf("cancel: exit %d\n%s", code, stdout)
	}
	code, _, stderr = ctl(t, context.Background(), "batch", "cancel", "--server", url, bat)
	if code != exitFailed || !strings.Contains(stderr, "CONFLICT") {
		t.Fatalf("second cancel: exit %d\n%s", code, stderr)
	}
}

func TestTemplateBatch_Help(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"template", "-h"}, tplRenderSynopsis}, {[]string{"help", "template"}, tplCreateSynopsis},
		{[]string{"template", "render", "--help"}, "usage: " + tplRenderSynopsis},
		{[]string{"batch", "-h"}, batchSubmitSynopsis}, {[]string{"batch", "submit", "-h"}, "usage: " + batchSubmitSynopsis},
		{[]string{"-h"}, batchSynopsis},
	} {
		code, stdout, stderr := ctl(t, context.Background(), c.args...)
		if code != exitOK || stderr != "" || !strings.Contains(stdout, c.want) {
			t.Errorf("%v: exit %d, stdout:\n%s\nstderr:\n%s", c.args, code, stdout, stderr)
		}
	}
}
