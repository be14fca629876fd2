package render

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/spec"
)

// TestSmartRender_Seams renders a numbered source with two short
// stickers smart (two encoded runs, three copied ones) and checks the
// result against the source and against a full render: the same frames,
// each number in order across every seam, the copied frames bit for bit
// the source's decoded frames, the encoded ones not, and the audio
// packets exactly the source's (so the sound is where it was against the
// pictures).
func TestSmartRender_Seams(t *testing.T) {
	skipShort(t)
	ctx := renderCtx(t)
	dir := t.TempDir()
	src := numberedSource(t, dir, "src.mp4", 12, 60)
	s := smartSpec(t, dir, src, "", [2]float64{4.5, 5.5}, [2]float64{9, 9.5})

	out := filepath.Join(dir, "smart.mp4")
	res, err := testEngine.Render(ctx, localJob(s, dir, out))
	if err != nil {
		t.Fatal(err)
	}
	pl := res.Plan
	if pl == nil || pl.Mode != ModeSmart || len(pl.Parts) != 2 || len(pl.Copies) != 3 {
		t.Fatalf("plan %+v, want smart with 2 parts and 3 copies", pl)
	}
	if pl.EncodedSeconds != 4 || pl.CopiedSeconds != 8 {
		t.Errorf("encoded %g s, copied %g s; want 4 and 8", pl.EncodedSeconds, pl.CopiedSeconds)
	}
	// The runs are whole GOPs around each sticker: [4, 6) and [8, 10).
	if p0, p1 := pl.Parts[0], pl.Parts[1]; p0.FirstFrame != 120 || p0.Frames != 60 || p1.FirstFrame != 240 || p1.Frames != 60 {
		t.Errorf("parts %+v, want frames 120..179 and 240..299", pl.Parts)
	}

	full := spec.Spec(*s)
	full.Output.RenderMode = spec.RenderModeFull
	fullOut := filepath.Join(dir, "full.mp4")
	fres, err := testEngine.Render(ctx, localJob(&full, dir, fullOut))
	if err != nil {
		t.Fatal(err)
	}
	if fres.Plan.Mode != ModeFull || fres.Plan.Reason != "render_mode full" {
		t.Errorf("render_mode full planned %q (%q)", fres.Plan.Mode, fres.Plan.Reason)
	}
	if res.Frames != fres.Frames || res.Frames != 360 {
		t.Errorf("smart %d frames, full %d, want 360", res.Frames, fres.Frames)
	}
	if d := res.Duration - fres.Duration; d > 0.001 || d < -0.001 {
		t.Errorf("smart lasts %.4f s, full %.4f s", res.Duration, fres.Duration)
	}

	numbers, sums := decodedFrames(t, out, 320, 240)
	checkNumbered(t, "smart", numbers, 360)
	fullNumbers, _ := decodedFrames(t, fullOut, 320, 240)
	checkNumbered(t, "full", fullNumbers, 360)
	_, srcSums := decodedFrames(t, src, 320, 240)
	encoded := func(i int) bool { return i >= 120 && i < 180 || i >= 240 && i < 300 }
	for i := range min(len(sums), len(srcSums)) {
		switch same := sums[i] == srcSums[i]; {
		case !encoded(i) && !same:
			t.Errorf("frame %d is outside the encoded runs but differs from the source's", i)
		case i >= 135 && i < 165 && same:
			t.Errorf("frame %d shows a sticker but is the source's", i)
		}
	}

	// The audio is the source's, packet for packet, and the video's
	// timestamps are the source's: so they meet as they did.
	if a, b := packetTimes(t, out, "a:0"), packetTimes(t, src, "a:0"); !slices.Equal(a, b) {
		t.Errorf("the audio packets' times differ from the source's (%d vs %d packets)", len(a), len(b))
	}
	// (Sorted: within an encoded run the encoder's B-frames come in
	// another decode order than the source's.)
	a, b := packetTimes(t, out, "v:0"), packetTimes(t, src, "v:0")
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("the video frames' times differ from the source's")
	}
}

// TestSplitRender_Seams renders parts of a plan one by one through the
// public steps a burst across workers takes (Plan, RenderPart, Stitch)
// and checks the joined result frame by frame: a smart plan whose long
// encoded run is split further, a full encode split in three, and a
// canvas split anywhere.
func TestSplitRender_Seams(t *testing.T) {
	skipShort(t)
	ctx := renderCtx(t)
	dir := t.TempDir()
	src := numberedSource(t, dir, "src.mp4", 12, 60)
	_, srcSums := decodedFrames(t, src, 320, 240)
	opt := PlanOptions{Workers: 3, SplitMinSeconds: 4}

	tests := []struct {
		name   string
		output string
		mode   string
		parts  []int // each part's first frame
		copies int
	}{
		{"smart, split", `{"format":"mp4"}`, ModeSmart, []int{60, 120, 240}, 2},
		{"full encode, split", `{"format":"mp4","render_mode":"full"}`, ModeSplit, []int{0, 120, 240}, 0},
		{"resized, split", `{"format":"mp4","width":160}`, ModeSplit, []int{0, 120, 240}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smartSpec(t, dir, src, tt.output, [2]float64{2.5, 8.5})
			job := localJob(s, dir, filepath.Join(dir, "out.mp4"))
			pl, err := testEngine.Plan(ctx, job, opt)
			if err != nil {
				t.Fatal(err)
			}
			var firsts []int
			for _, pt := range pl.Parts {
				firsts = append(firsts, pt.FirstFrame)
			}
			if pl.Mode != tt.mode || !slices.Equal(firsts, tt.parts) || len(pl.Copies) != tt.copies || pl.Workers != 3 {
				t.Fatalf("plan %s with parts at %v, %d copies, %d workers (%s); want %s, %v, %d, 3",
					pl.Mode, firsts, len(pl.Copies), pl.Workers, pl.Reason, tt.mode, tt.parts, tt.copies)
			}
			files := make([]string, len(pl.Parts))
			for i := range pl.Parts {
				files[i] = filepath.Join(t.TempDir(), "part"+PartExt)
				pr, err := testEngine.RenderPart(ctx, job, pl, i, files[i])
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				if pr.Frames != pl.Parts[i].Frames || pr.Bytes == 0 {
					t.Errorf("part %d: %+v", i, pr)
				}
			}
			res, err := testEngine.Stitch(ctx, job, pl, files)
			if err != nil {
				t.Fatal(err)
			}
			if res.Plan.Mode != tt.mode {
				t.Fatalf("stitched as %s: %s", res.Plan.Mode, res.Plan.Reason)
			}
			if res.Frames != 360 || res.Duration < 11.999 || res.Duration > 12.001 || !res.HasAudio {
				t.Errorf("result %d frames, %.4f s, audio %v; want 360 frames, 12 s, audio", res.Frames, res.Duration, res.HasAudio)
			}
			w, h := res.Width, res.Height
			numbers, sums := decodedFrames(t, job.Output, w, h)
			checkNumbered(t, tt.name, numbers, 360)
			if tt.mode == ModeSmart {
				for i := range min(len(sums), len(srcSums)) {
					if (i < 60 || i >= 300) && sums[i] != srcSums[i] {
						t.Errorf("frame %d is outside the encoded runs but differs from the source's", i)
					}
				}
			}
		})
	}
}

// TestPlan_Fallbacks: every reason a render is not smart, each from real
// files, said in the plan's reason.
func TestPlan_Fallbacks(t *testing.T) {
	skipShort(t)
	ctx := renderCtx(t)
	dir := t.TempDir()
	src := numberedSource(t, dir, "src.mp4", 4, 30)
	remux := func(name string, args ...string) string {
		out := filepath.Join(dir, name)
		all := append(append([]string{"-v", "error", "-y", "-i", src}, args...), out)
		if b, err := exec.Command("ffmpeg", all...).CombinedOutput(); err != nil {
			t.Fatalf("making %s: %v %s", name, err, b)
		}
		return out
	}
	hevc := remux("hevc.mp4", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-c:a", "copy")
	mkv := remux("src.mkv", "-c", "copy")
	rotated := remux("rotated.mp4", "-c", "copy", "-metadata:s:v", "rotate=90")
	srcBytes := mustStat(t, src).Size()

	tests := []struct {
		name, source, output, reason string
	}{
		{"render_mode full", src, `{"render_mode":"full"}`, "render_mode full"},
		{"HEVC source", hevc, ``, "the source video is HEVC: smart rendering copies H.264 only"},
		{"another size", src, `{"width":160}`, "the output size 160x120 differs from the source's 320x240"},
		{"another rate", src, `{"fps":25}`, "the output frame rate 25 differs from the source's 30"},
		{"max_bytes under the source", src, fmt.Sprintf(`{"max_bytes":%d}`, srcBytes/2), "output.max_bytes"},
		{"Matroska source", mkv, ``, "the source is Matroska/WebM: smart rendering copies from MP4/MOV only"},
		{"WebM output", src, `{"format":"webm"}`, "webm output: smart rendering copies H.264 from MP4/MOV into MP4 only"},
		{"GIF output", src, `{"format":"gif"}`, "gif output is always rendered whole"},
		{"rotated phone clip", rotated, ``, "turned 90° on display"},
		{"canvas", "", ``, "the source is a blank canvas: there is nothing to copy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.output
			if out == "" {
				out = `{}`
			}
			var s *spec.Spec
			if tt.source == "" {
				var err error
				s, err = spec.Parse([]byte(`{"source":`+canvas(4)+`,"stickers":[{"type":"text","text":"hi","start":1,"end":2}]}`), spec.ParseOptions{})
				if err != nil {
					t.Fatal(err)
				}
			} else {
				s = smartSpec(t, dir, tt.source, out, [2]float64{1.5, 2})
			}
			pl, err := testEngine.Plan(ctx, localJob(s, dir, ""), PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if pl.Mode != ModeFull || !strings.Contains(pl.Reason, tt.reason) {
				t.Errorf("mode %s, reason %q; want full, saying %q", pl.Mode, pl.Reason, tt.reason)
			}
		})
	}

	// Where nothing forbids it, the same sticker is smart.
	pl, err := testEngine.Plan(ctx, localJob(smartSpec(t, dir, src, `{}`, [2]float64{1.5, 2}), dir, ""), PlanOptions{})
	if err != nil || pl.Mode != ModeSmart || pl.Reason != "" {
		t.Fatalf("plan %+v, %v; want smart", pl, err)
	}
}

// TestStitch_FallsBack: a joined result that is over max_bytes, or whose
// parts do not add up, is rendered whole instead, and the plan says why;
// a part worker refuses a source other than the plan's.
func TestStitch_FallsBack(t *testing.T) {
	skipShort(t)
	ctx := renderCtx(t)
	dir := t.TempDir()
	src := numberedSource(t, dir, "src.mp4", 4, 30)
	s := smartSpec(t, dir, src, `{}`, [2]float64{1.5, 2})
	job := localJob(s, dir, filepath.Join(dir, "out.mp4"))
	pl, err := testEngine.Plan(ctx, job, PlanOptions{})
	if err != nil || pl.Mode != ModeSmart || len(pl.Parts) != 1 {
		t.Fatalf("plan %+v, %v", pl, err)
	}
	part := filepath.Join(dir, "part"+PartExt)
	if _, err := testEngine.RenderPart(ctx, job, pl, 0, part); err != nil {
		t.Fatal(err)
	}

	t.Run("over max_bytes", func(t *testing.T) {
		tight := *s
		tight.Output.MaxBytes = mustStat(t, src).Size() / 2
		res, err := testEngine.Stitch(ctx, localJob(&tight, dir, filepath.Join(dir, "tight.mp4")), pl, []string{part})
		if err != nil {
			t.Fatal(err)
		}
		if res.Plan.Mode != ModeFull || !strings.Contains(res.Plan.Reason, "over output.max_bytes") || res.Bytes > tight.Output.MaxBytes {
			t.Errorf("%d bytes, plan %s: %q", res.Bytes, res.Plan.Mode, res.Plan.Reason)
		}
	})
	t.Run("a part short of frames", func(t *testing.T) {
		short := filepath.Join(dir, "short"+PartExt)
		b, err := os.ReadFile(part)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(short, b[:len(b)/2/188*188], 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := testEngine.Stitch(ctx, localJob(s, dir, filepath.Join(dir, "short.mp4")), pl, []string{short})
		if err != nil {
			t.Fatal(err)
		}
		if res.Plan.Mode != ModeFull || !strings.Contains(res.Plan.Reason, "smart render fell back to a full render: the joined file has") || res.Frames != 120 {
			t.Errorf("%d frames, plan %s: %q", res.Frames, res.Plan.Mode, res.Plan.Reason)
		}
	})
	t.Run("another source", func(t *testing.T) {
		other := numberedSource(t, dir, "other.mp4", 5, 30)
		_, err := testEngine.RenderPart(ctx, localJob(smartSpec(t, dir, other, `{}`, [2]float64{1.5, 2}), dir, ""), pl, 0, part)
		if errcode.Of(err) != errcode.SourceUnreadable || !strings.Contains(err.Error(), "the plan was made for") {
			t.Errorf("a part of another source: %v", err)
		}
	})
}

// TestSplitRender_Canvas splits a canvas (cut anywhere on a frame) and
// renders its parts concurrently in-process (RenderWith): the result has
// the frames and length of a whole render.
func TestSplitRender_Canvas(t *testing.T) {
	skipShort(t)
	ctx := renderCtx(t)
	dir := t.TempDir()
	js := `{"source":` + canvas(6.05) + `,"stickers":[{"type":"text","text":"hi","keyframes":[{"t":0,"x":0.1},{"t":6,"x":0.9}]}]}`
	s, err := spec.Parse([]byte(js), spec.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := testEngine.RenderWith(ctx, localJob(s, dir, filepath.Join(dir, "split.mp4")), PlanOptions{Workers: 3, SplitMinSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Mode != ModeSplit || len(res.Plan.Parts) != 3 || res.Plan.Parts[1].FirstFrame != 20 || res.Plan.Workers != 3 {
		t.Fatalf("plan %+v, want a split in three at frames 0, 20, 40", res.Plan)
	}
	whole, err := testEngine.Render(ctx, localJob(s, dir, filepath.Join(dir, "whole.mp4")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != whole.Frames || res.Frames != 61 || res.Duration != whole.Duration {
		t.Errorf("split %d frames, %.4f s; whole %d frames, %.4f s", res.Frames, res.Duration, whole.Frames, whole.Duration)
	}
}
