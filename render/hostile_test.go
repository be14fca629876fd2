package render

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media/hostiletest"
)

// A render never demuxes a playlist, manifest or script given as its
// source or as a sticker: nothing they name is opened or fetched.
func TestRender_RefusesIndirection(t *testing.T) {
	canary := hostiletest.New(t)
	f := newFixtures(t)
	red := f.png("red.png", 20, 20, color.NRGBA{255, 0, 0, 255})
	for _, h := range hostiletest.Files(canary) {
		path := f.write(h.Name+h.Ext, h.Data)
		for _, as := range []string{"source", "sticker"} {
			t.Run(h.Name+"/"+as, func(t *testing.T) {
				js := fmt.Sprintf(`{"source":{"path":%q},"stickers":[{"type":"image","path":%q}]}`, path, red)
				if as == "sticker" {
					js = fmt.Sprintf(`{"source":%s,"stickers":[{"type":"image","path":%q}]}`, canvas(1), path)
				}
				_, err := f.render("mp4", js)
				if c := errcode.Of(err); c != errcode.AssetUnsupported && c != errcode.SourceUnreadable {
					t.Errorf("got %v, want ASSET_UNSUPPORTED or SOURCE_UNREADABLE", err)
				}
				canary.AssertUntouched(t)
			})
		}
	}
}

// The compiled command confines every input to its demuxers and the file
// protocol, and names each input as a file.
func TestCompile_GuardsEveryInput(t *testing.T) {
	f := newFixtures(t)
	src := f.video("src.mp4", "testsrc2=size=64x48:rate=10:duration=1", false)
	red := f.png("red.png", 20, 20, color.NRGBA{255, 0, 0, 255})
	anim := f.gif("a.gif", 8, 8, 10, color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255})
	res := f.mustRender("mp4", fmt.Sprintf(`{"source":{"path":%q},"stickers":[{"type":"image","path":%q},
		{"type":"image","path":%q,"animation":"spin"},{"type":"text","text":"hi 👋"}]}`, src, red, anim))
	inputs := 0
	for i, a := range res.Args {
		if a != "-i" {
			continue
		}
		inputs++
		in := res.Args[i+1]
		if !strings.HasPrefix(in, "file:/") {
			t.Errorf("input %q is not named as a file", in)
		}
		before := strings.Join(res.Args[:i], " ")
		if last := strings.LastIndex(before, "-protocol_whitelist file"); last < 0 || strings.Contains(before[last:], " -i ") {
			t.Errorf("input %q has no -protocol_whitelist file before it", in)
		}
		if last := strings.LastIndex(before, "-format_whitelist "); last < 0 || strings.Contains(before[last:], " -i ") {
			t.Errorf("input %q has no -format_whitelist before it", in)
		}
	}
	if inputs != 4 {
		t.Errorf("%d inputs, want 4: %q", inputs, res.Args)
	}
}

// A sticker path that looks like an image sequence pattern or a protocol
// is read as the one file it names.
func TestRender_StickerPathIsLiteral(t *testing.T) {
	f := newFixtures(t)
	if err := os.MkdirAll(filepath.Join(f.dir, "http:"), 0o755); err != nil {
		t.Fatal(err)
	}
	red := f.png("http:/s%03d.png", 20, 20, color.NRGBA{255, 0, 0, 255})
	res := f.mustRender("mp4", fmt.Sprintf(`{"source":%s,"stickers":[{"type":"image","path":%q,"width":0.5,"x":0.5,"y":0.5}]}`, canvas(0.5), red))
	img := frame(t, res.Path, 0, res.Width, res.Height)
	if c := at(img, 0.5, 0.5); !near(c, color.NRGBA{255, 0, 0, 255}, 40) {
		t.Errorf("centre is %v, want the red sticker", c)
	}
}

// The work a render asks of ffmpeg is bounded: the worst specs that pass
// keep ffmpeg under 2 GiB, and one step past the bound is refused with
// the sticker that crossed it.
func TestRender_WorstCaseMemory(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	big := f.png("big.png", 1000, 1000, color.NRGBA{255, 0, 0, 200})
	small := f.png("small.png", 100, 100, color.NRGBA{0, 255, 0, 200})
	frames := make([]color.NRGBA, 150)
	for i := range frames {
		frames[i] = color.NRGBA{uint8(i), 0, 255, 255}
	}
	anim := f.gif("anim.gif", 40, 40, 4, frames...)
	const W, H = 3840, 2160
	k4 := fmt.Sprintf(`{"color":"#000000","width":%d,"height":%d,"duration":0.3,"fps":15}`, W, H)
	out := int64(W * H)
	room := testEngine.cfg.Limits.MaxRenderBytes - out*baseBytesPerOutputPixel
	// The widest square sticker that may spin: its diagonal square's
	// pixels take the room a moving overlay leaves.
	d := math.Sqrt(float64(room-out*movingBytesPerOutputPixel) / bytesPerStickerPixel)
	spinWidth := d / math.Sqrt2 / W * 0.99
	// The most small spinning stickers.
	smallW := 100.0 / W
	perSmall := out*movingBytesPerOutputPixel + 142*142*bytesPerStickerPixel
	nSmall := int(room / perSmall)
	// The most looping animations at 400x400: 150 frames each.
	perLoop := out*movingBytesPerOutputPixel + 400*400*bytesPerStickerPixel + 400*400*4*150
	nLoops := int(room / perLoop)
	stickers := func(n int, path string, width float64, extra string) string {
		var b []string
		for i := 0; i < n; i++ {
			b = append(b, fmt.Sprintf(`{"type":"image","path":%q,"width":%.6f,"x":%.3f%s}`, path, width, float64(i%8)/8+0.06, extra))
		}
		return strings.Join(b, ",")
	}
	spin := `,"animation":"spin","keyframes":[{"t":0,"opacity":0.2},{"t":0.3,"opacity":1}]`
	cases := []struct {
		name, stickers string
		code           errcode.Code
		field          string
	}{
		{"one spinning sticker as wide as allowed", stickers(1, big, spinWidth, spin), "", ""},
		{fmt.Sprintf("%d small spinning stickers", nSmall), stickers(nSmall, small, smallW, spin), "", ""},
		{fmt.Sprintf("%d looping animations", nLoops), stickers(nLoops, anim, 400.0/W, ""), "", ""},
		{"width 4.0 on 4K", stickers(1, big, 4, ""), errcode.SpecInvalid, "stickers[0]"},
		{"one spinning sticker too wide", stickers(1, big, spinWidth*1.05, spin), errcode.SpecInvalid, "stickers[0]"},
		{"one small sticker too many", stickers(nSmall+1, small, smallW, spin), errcode.SpecInvalid, fmt.Sprintf("stickers[%d]", nSmall)},
		{"one loop too many", stickers(nLoops+1, anim, 400.0/W, ""), errcode.SpecInvalid, fmt.Sprintf("stickers[%d]", nLoops)},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.render("mp4", `{"source":`+k4+`,"stickers":[`+tt.stickers+`]}`)
			if tt.code != "" {
				var e *errcode.Error
				if !errors.As(err, &e) || e.Code != tt.code || len(e.Fields) == 0 || e.Fields[0].Field != tt.field {
					t.Fatalf("got %v, want %s naming %s", err, tt.code, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ffmpeg peak RSS %d MiB", res.PeakRSSBytes>>20)
			if res.PeakRSSBytes == 0 || res.PeakRSSBytes > 2<<30 {
				t.Errorf("ffmpeg peak RSS %d MiB, want at most 2048", res.PeakRSSBytes>>20)
			}
		})
	}
}
