package render

import (
	"fmt"
	"image/color"
	"math"
	"testing"

	"github.com/stickerd/stickerd/render/motion"
)

func TestRender_Placement(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("red.png", 100, 100, red)
	res := f.mustRender("mp4", `{"source":`+canvas(1)+`,"stickers":[
		{"type":"image","path":"red.png","x":0.25,"y":0.5,"width":0.25}]}`)
	img := frame(t, res.Path, 5, 320, 240)
	// The sticker is 80 px wide and centred at (80,120): it spans x 40..120.
	for _, c := range []struct {
		x, y float64
		want color.NRGBA
	}{{0.25, 0.5, red}, {0.15, 0.4, red}, {0.35, 0.6, red}, {0.45, 0.5, blue}, {0.05, 0.5, blue}, {0.25, 0.15, blue}, {0.75, 0.5, blue}} {
		if got := at(img, c.x, c.y); !near(got, c.want, 40) {
			t.Errorf("pixel at (%.2f,%.2f) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

func TestRender_TimingEdges(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("red.png", 64, 64, red)
	res := f.mustRender("mp4", `{"source":`+canvas(2)+`,"stickers":[
		{"type":"image","path":"red.png","width":0.3,"start":0.5,"end":1.2}]}`)
	// 10 fps: frame n is at n/10 s. Visible for 0.5 <= t < 1.2.
	for _, c := range []struct {
		n    int
		want color.NRGBA
	}{{0, blue}, {4, blue}, {5, red}, {8, red}, {11, red}, {12, blue}, {19, blue}} {
		if got := at(frame(t, res.Path, c.n, 320, 240), 0.5, 0.5); !near(got, c.want, 40) {
			t.Errorf("frame %d (t=%.1f): centre %v, want %v", c.n, float64(c.n)/10, got, c.want)
		}
	}
}

func TestRender_EasingMidpoints(t *testing.T) {
	skipShort(t)
	for _, e := range []motion.Easing{motion.Linear, motion.EaseIn, motion.EaseOut, motion.EaseInOut, motion.Step} {
		t.Run(string(e), func(t *testing.T) {
			f := newFixtures(t)
			f.png("red.png", 16, 16, red)
			res := f.mustRender("mp4", fmt.Sprintf(`{"source":%s,"stickers":[
				{"type":"image","path":"red.png","y":0.5,"width":0.05,"keyframes":[
					{"t":0,"x":0.1},{"t":2,"x":0.9,"easing":%q}]}]}`, canvas(3), e))
			img := frame(t, res.Path, 10, 320, 240) // t = 1 s, the segment's midpoint
			want := 0.1 + 0.8*motion.Ease(e, 0.5)
			if got := at(img, want, 0.5); !near(got, red, 60) {
				t.Errorf("at x=%.3f (expected centre) got %v, want red", want, got)
			}
			// A position the other easings would give must be clear of it.
			for _, other := range []float64{0.1, 0.3, 0.5, 0.7} {
				if math.Abs(other-want) > 0.1 {
					if got := at(img, other, 0.5); !near(got, blue, 60) {
						t.Errorf("at x=%.2f got %v, want blue (sticker should be at %.2f)", other, got, want)
					}
				}
			}
		})
	}
}

func TestRender_Opacity(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("red.png", 64, 64, red)
	res := f.mustRender("mp4", `{"source":`+canvas(2)+`,"stickers":[
		{"type":"image","path":"red.png","x":0.25,"width":0.3,"opacity":0.5},
		{"type":"image","path":"red.png","x":0.75,"width":0.3,"keyframes":[{"t":0,"opacity":0},{"t":1,"opacity":1}]}]}`)
	half := color.NRGBA{128, 0, 128, 255}
	if got := at(frame(t, res.Path, 3, 320, 240), 0.25, 0.5); !near(got, half, 40) {
		t.Errorf("opacity 0.5: got %v, want about %v", got, half)
	}
	checks := []struct {
		n    int
		want color.NRGBA
	}{{0, blue}, {5, half}, {10, red}, {15, red}}
	for _, c := range checks {
		if got := at(frame(t, res.Path, c.n, 320, 240), 0.75, 0.5); !near(got, c.want, 45) {
			t.Errorf("keyframed opacity, frame %d: got %v, want %v", c.n, got, c.want)
		}
	}
}

func TestRender_Rotation(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("bar.png", 100, 10, red) // a horizontal bar
	res := f.mustRender("mp4", `{"source":`+canvas(1)+`,"stickers":[
		{"type":"image","path":"bar.png","x":0.5,"y":0.5,"width":0.5,"rotation":90}]}`)
	img := frame(t, res.Path, 2, 320, 240)
	// 160 px long bar turned upright: spans y 40..200 at x = 160.
	if got := at(img, 0.5, 0.3); !near(got, red, 50) {
		t.Errorf("above centre: %v, want red (bar is vertical)", got)
	}
	if got := at(img, 0.3, 0.5); !near(got, blue, 50) {
		t.Errorf("left of centre: %v, want blue (bar is not horizontal)", got)
	}
}

func TestRender_SpinAnimates(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("bar.png", 100, 10, red)
	res := f.mustRender("mp4", `{"source":`+canvas(1)+`,"stickers":[
		{"type":"image","path":"bar.png","width":0.5,"keyframes":[{"t":0,"rotation":0},{"t":0.5,"rotation":90}]}]}`)
	if got := at(frame(t, res.Path, 0, 320, 240), 0.35, 0.5); !near(got, red, 50) {
		t.Errorf("t=0: bar should be horizontal, got %v left of centre", got)
	}
	if got := at(frame(t, res.Path, 7, 320, 240), 0.5, 0.3); !near(got, red, 50) {
		t.Errorf("t=0.7: bar should be vertical, got %v above centre", got)
	}
}

func TestRender_AnimatedLooping(t *testing.T) {
	skipShort(t)
	for _, loop := range []bool{true, false} {
		t.Run(fmt.Sprintf("loop=%v", loop), func(t *testing.T) {
			f := newFixtures(t)
			f.gif("anim.gif", 32, 32, 50, red, green) // 0.5 s red, 0.5 s green
			res := f.mustRender("mp4", fmt.Sprintf(`{"source":%s,"stickers":[
				{"type":"image","path":"anim.gif","width":0.4,"loop":%v}]}`, canvas(2), loop))
			want := []color.NRGBA{red, green, red, green} // at 0.2, 0.7, 1.2, 1.7 s
			if !loop {
				want = []color.NRGBA{red, green, green, green}
			}
			for i, n := range []int{2, 7, 12, 17} {
				if got := at(frame(t, res.Path, n, 320, 240), 0.5, 0.5); !near(got, want[i], 60) {
					t.Errorf("frame %d: %v, want %v", n, got, want[i])
				}
			}
		})
	}
}

func TestRender_TextSticker(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	res := f.mustRender("mp4", `{"source":`+canvas(1)+`,"stickers":[
		{"type":"text","text":"HELLO: 'x' \\ %{pts} ;[a]","size":0.2,"color":"#FFFFFF",
		 "stroke_color":"#000000","stroke_width":0.02,"y":0.5}]}`)
	img := frame(t, res.Path, 3, 320, 240)
	var whites, blacks, blues int
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			c := img.NRGBAAt(x, y)
			switch {
			case near(c, white, 40):
				whites++
			case near(c, color.NRGBA{0, 0, 0, 255}, 40):
				blacks++
			case near(c, blue, 40):
				blues++
			}
			if y < 60 || y > 180 { // the text band is around the middle
				if !near(c, blue, 60) {
					t.Fatalf("text drawn outside its band at (%d,%d): %v", x, y, c)
				}
			}
		}
	}
	if whites < 300 || blacks < 300 {
		t.Fatalf("text not visible: %d white, %d black (stroke) pixels", whites, blacks)
	}
}

func TestRender_Builtin(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	res := f.mustRender("mp4", `{"source":`+canvas(1)+`,"stickers":[{"type":"image","builtin":"heart","width":0.5}]}`)
	if got := at(frame(t, res.Path, 2, 320, 240), 0.5, 0.5); got.R < 150 || got.B > 120 {
		t.Errorf("heart centre %v, want red", got)
	}
}

func TestRender_AnimatedWebPSticker(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	res := f.mustRender("mp4", `{"source":`+canvas(1)+`,"stickers":[
		{"type":"image","path":"`+mustAbs(t, "animwebp/testdata/anim_lossless.webp")+`","width":0.5}]}`)
	c0 := at(frame(t, res.Path, 0, 320, 240), 0.5, 0.5)
	if near(c0, blue, 30) {
		t.Errorf("animated WebP sticker not drawn: centre %v", c0)
	}
}

func TestRender_WidthKeyframesAndPop(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	f.png("red.png", 64, 64, red)
	res := f.mustRender("mp4", `{"source":`+canvas(2)+`,"stickers":[
		{"type":"image","path":"red.png","x":0.3,"keyframes":[{"t":0,"width":0.1},{"t":1,"width":0.4}]},
		{"type":"image","path":"red.png","x":0.8,"width":0.3,"animation":"pop"}]}`)
	// Width 0.1 (32 px) at t=0 and 0.4 (128 px) from t=1: x=0.42 is outside, then inside.
	if got := at(frame(t, res.Path, 0, 320, 240), 0.42, 0.5); !near(got, blue, 50) {
		t.Errorf("t=0: %v at x=0.42, want blue (sticker 0.1 wide)", got)
	}
	if got := at(frame(t, res.Path, 15, 320, 240), 0.42, 0.5); !near(got, red, 50) {
		t.Errorf("t=1.5: %v at x=0.42, want red (sticker 0.4 wide)", got)
	}
	// pop: tiny at t=0, full width (0.3: spans 0.65..0.95) once settled.
	if got := at(frame(t, res.Path, 0, 320, 240), 0.7, 0.5); !near(got, blue, 50) {
		t.Errorf("pop t=0: %v at x=0.7, want blue (popping in from nothing)", got)
	}
	if got := at(frame(t, res.Path, 10, 320, 240), 0.7, 0.5); !near(got, red, 50) {
		t.Errorf("pop t=1: %v at x=0.7, want red", got)
	}
}

// Text with emoji, several lines or a rotation goes through render/text
// (a picture) instead of drawtext; both paths must draw the text.
func TestRender_TextStickerRasterised(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	res := f.mustRender("mp4", `{"source":`+canvas(1)+`,"stickers":[
		{"type":"text","text":"HI 👋","size":0.2,"color":"#FFFFFF","rotation":10,"y":0.5}]}`)
	img := frame(t, res.Path, 3, 320, 240)
	whites := 0
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			if near(img.NRGBAAt(x, y), white, 40) {
				whites++
			}
		}
	}
	if whites < 200 {
		t.Fatalf("rasterised text not visible: %d white pixels", whites)
	}
}
