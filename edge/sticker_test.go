package edge_test

import (
	"context"
	"image/color"
	"testing"
	"time"

	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

var green = color.NRGBA{R: 20, G: 200, B: 40, A: 255}

func TestEdge_StickerAppearsAtPosition(t *testing.T) {
	url, _ := rtctest.StartEdgeWith(t, rtctest.LoopbackConfig(),
		edgeAssets(map[string][]byte{"ast_green": solidPNG(64, 64, green)}))
	gy, gu, gv := rtctest.RGBToYUV(green.R, green.G, green.B)
	tests := []struct {
		name    string
		w, h    int
		paint   func(f *rtc.Frame, n int)
		sticker rtc.Sticker
		// where the sticker's colour must show, and its expected YUV
		px, py     int
		wy, wu, wv byte
		// a point the sticker must not touch, and the background there
		bx, by int
	}{
		{"builtin heart on grey 320x240", 320, 240, func(f *rtc.Frame, _ int) { rtctest.Solid(f, 128, 128, 128) },
			rtc.Sticker{Type: "image", Builtin: "heart", X: rtc.F(0.5), Y: rtc.F(0.55), Width: rtc.F(0.4)},
			160, 132, 0, 0, 0, 300, 200},
		{"uploaded green square on a gradient 640x480", 640, 480, func(f *rtc.Frame, n int) { rtctest.Gradient(f, n) },
			rtc.Sticker{Type: "image", AssetID: "ast_green", X: rtc.F(0.25), Y: rtc.F(0.6), Width: rtc.F(0.2)},
			160, 288, gy, gu, gv, 480, 288},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := connect(t, url, tc.w, tc.h, tc.paint)
			c.waitFor(5*time.Second, "a numbered frame", func(r received) bool { return r.ok })
			c.op(func(ctx context.Context) error { return c.s.AddSticker(ctx, "s1", tc.sticker) })
			r := c.waitFor(3*time.Second, "the sticker's colour at its centre", func(r received) bool {
				y, u, v := rtctest.MeanYUV(r.f, tc.px, tc.py, 8)
				if tc.wy == 0 { // the heart: red, so V well above neutral and U below
					return r.ok && v > 170 && u < 120 && y < 120
				}
				return r.ok && near(y, tc.wy, 12) && near(u, tc.wu, 12) && near(v, tc.wv, 12)
			})
			// Away from the sticker the frame is untouched (the same ramp).
			want := rtc.NewFrame(tc.w, tc.h)
			tc.paint(want, int(r.n))
			ey, _, _ := rtctest.MeanYUV(want, tc.bx, tc.by, 8)
			if y, _, _ := rtctest.MeanYUV(r.f, tc.bx, tc.by, 8); !near(y, byte(ey), 12) {
				t.Errorf("background at (%d,%d) is %.0f, want about %.0f", tc.bx, tc.by, y, ey)
			}
		})
	}
}

func TestEdge_StickerMovesAndVanishes(t *testing.T) {
	url, _ := rtctest.StartEdgeWith(t, rtctest.LoopbackConfig(),
		edgeAssets(map[string][]byte{"ast_green": solidPNG(32, 32, green)}))
	gy, gu, gv := rtctest.RGBToYUV(green.R, green.G, green.B)
	c := connect(t, url, 320, 240, func(f *rtc.Frame, _ int) { rtctest.Solid(f, 100, 128, 128) })
	isGreen := func(r received, x, y int) bool {
		my, mu, mv := rtctest.MeanYUV(r.f, x, y, 6)
		return near(my, gy, 14) && near(mu, gu, 14) && near(mv, gv, 14)
	}
	isGrey := func(r received, x, y int) bool {
		my, _, _ := rtctest.MeanYUV(r.f, x, y, 6)
		return near(my, 100, 10)
	}
	c.op(func(ctx context.Context) error {
		return c.s.AddSticker(ctx, "s1", map[string]any{"type": "image", "asset_id": "ast_green", "x": 0.25, "y": 0.5, "width": 0.15})
	})
	c.waitFor(3*time.Second, "sticker at x=0.25", func(r received) bool { return isGreen(r, 80, 120) && isGrey(r, 240, 120) })

	c.op(func(ctx context.Context) error { return c.s.UpdateSticker(ctx, "s1", map[string]any{"x": 0.75}) })
	c.drain()
	// Within a few frames of the ack the sticker has moved.
	frames := 0
	c.waitFor(2*time.Second, "sticker moved to x=0.75", func(r received) bool {
		frames++
		return isGreen(r, 240, 120) && isGrey(r, 80, 120)
	})
	if frames > 6 {
		t.Errorf("the move showed %d frames after the ack, want at most 6", frames)
	}

	c.op(func(ctx context.Context) error { return c.s.RemoveSticker(ctx, "s1") })
	c.drain()
	c.waitFor(2*time.Second, "sticker gone", func(r received) bool { return isGrey(r, 80, 120) && isGrey(r, 240, 120) })
}

func TestEdge_FramesComeBackInOrder(t *testing.T) {
	url, _ := rtctest.StartEdge(t, rtctest.LoopbackConfig())
	c := connect(t, url, 640, 480, func(f *rtc.Frame, n int) { rtctest.Gradient(f, n) })
	first := c.waitFor(5*time.Second, "a numbered frame", func(r received) bool { return r.ok })
	last, got := first.n, 1
	for got < 45 {
		r := c.next(2 * time.Second)
		if !r.ok {
			t.Fatalf("frame after %d has an unreadable counter", last)
		}
		if r.n <= last {
			t.Fatalf("frame %d came after %d", r.n, last)
		}
		last, got = r.n, got+1
	}
	// The edge drops a frame rather than fall behind; a loaded machine
	// (CI runs every package at once on two cores) makes it drop a few.
	// Order is the property; more than one in eight missing is a fault.
	if missed := int(last-first.n) + 1 - got; missed > (got+missed)/8 {
		t.Errorf("%d of %d frames did not come back", missed, got+missed)
	}
}
