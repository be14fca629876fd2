package edge

import (
	"image"
	"image/color"
	"testing"

	"github.com/stickerd/stickerd/internal/vpx"
)

// solidNRGBA is a w×h image of one colour.
func solidNRGBA(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func TestBlend_PlacesAndClips(t *testing.T) {
	red := color.NRGBA{R: 255, A: 255}
	tests := []struct {
		name         string
		left, top    int
		opacity      int
		alpha        uint8
		inside       [2]int // a pixel that must be red
		outside      [2]int // a pixel that must stay grey
		wantY, wantV byte
	}{
		{"opaque in the middle", 20, 10, 256, 255, [2]int{25, 15}, [2]int{19, 15}, 82, 240},
		{"clipped at the top-left", -4, -6, 256, 255, [2]int{0, 0}, [2]int{6, 0}, 82, 240},
		{"clipped at the bottom-right", 60, 44, 256, 255, [2]int{63, 47}, [2]int{59, 47}, 82, 240},
		{"half opacity", 20, 10, 128, 255, [2]int{25, 15}, [2]int{30, 15}, 105, 184},
		{"half alpha", 20, 10, 256, 128, [2]int{25, 15}, [2]int{30, 15}, 105, 184},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			im := vpx.NewImage(64, 48)
			im.Fill(128, 128, 128)
			c := red
			c.A = tc.alpha
			r := rasterize(solidNRGBA(10, 10, c), 10, 10, 0)
			blend(im, r, tc.left, tc.top, tc.opacity)
			y, v := im.Y[tc.inside[1]*64+tc.inside[0]], im.V[(tc.inside[1]/2)*32+tc.inside[0]/2]
			if d := int(y) - int(tc.wantY); d < -2 || d > 2 {
				t.Errorf("Y inside = %d, want %d", y, tc.wantY)
			}
			if d := int(v) - int(tc.wantV); d < -2 || d > 2 {
				t.Errorf("V inside = %d, want %d", v, tc.wantV)
			}
			if y := im.Y[tc.outside[1]*64+tc.outside[0]]; y != 128 {
				t.Errorf("Y outside = %d, want 128 (untouched)", y)
			}
		})
	}
}

func TestRasterize_RotatesClockwise(t *testing.T) {
	// A bar 40 wide and 10 high, turned 90° clockwise, stands 10 wide and
	// 40 high; its left end (marked blue) ends up at the top.
	img := solidNRGBA(40, 10, color.NRGBA{R: 255, A: 255})
	for y := range 10 {
		for x := range 5 {
			img.SetNRGBA(x, y, color.NRGBA{B: 255, A: 255})
		}
	}
	tests := []struct {
		rot        float64
		w, h       int
		blueAt     [2]int
		transparAt [2]int
	}{
		{0, 40, 10, [2]int{2, 5}, [2]int{-1, -1}},
		{90, 10, 40, [2]int{5, 2}, [2]int{-1, -1}},
		{-90, 10, 40, [2]int{5, 37}, [2]int{-1, -1}},
		{45, 36, 36, [2]int{5, 5}, [2]int{2, 33}},
	}
	for _, tc := range tests {
		r := rasterize(img, 40, 10, tc.rot)
		if r.w != tc.w || r.h != tc.h {
			t.Errorf("rotation %v: %dx%d, want %dx%d", tc.rot, r.w, r.h, tc.w, tc.h)
			continue
		}
		i := tc.blueAt[1]*r.w + tc.blueAt[0]
		if r.a[i] < 200 || r.y[i] > 60 { // blue is dark in luma
			t.Errorf("rotation %v: pixel %v is Y %d A %d, want opaque blue", tc.rot, tc.blueAt, r.y[i], r.a[i])
		}
		if tc.transparAt[0] >= 0 {
			if a := r.a[tc.transparAt[1]*r.w+tc.transparAt[0]]; a != 0 {
				t.Errorf("rotation %v: corner alpha %d, want 0", tc.rot, a)
			}
		}
	}
}

func TestToYUVA_OddSizesAndColours(t *testing.T) {
	tests := []struct {
		name    string
		c       color.NRGBA
		y, u, v byte
	}{
		{"white", color.NRGBA{255, 255, 255, 255}, 235, 128, 128},
		{"black", color.NRGBA{0, 0, 0, 255}, 16, 128, 128},
		{"red", color.NRGBA{255, 0, 0, 255}, 82, 90, 240},
		{"blue", color.NRGBA{0, 0, 255, 255}, 41, 240, 110},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rasterize(solidNRGBA(7, 5, tc.c), 7, 5, 0)
			if r.w != 8 || r.h != 6 || r.opaque {
				t.Fatalf("%dx%d opaque=%v, want 8x6 padded and not opaque", r.w, r.h, r.opaque)
			}
			if r.y[0] != tc.y || r.u[0] != tc.u || r.v[0] != tc.v || r.a[0] != 255 || r.ca[0] != 255 {
				t.Fatalf("YUVA %d %d %d %d, want %d %d %d 255", r.y[0], r.u[0], r.v[0], r.a[0], tc.y, tc.u, tc.v)
			}
			if r.a[7] != 0 || r.ca[3] != 128 { // the padding column, half covered in chroma
				t.Fatalf("padding alpha %d, chroma alpha %d", r.a[7], r.ca[3])
			}
		})
	}
}

func TestRasterCache_Bounded(t *testing.T) {
	var c rasterCache
	img := solidNRGBA(8, 8, color.NRGBA{A: 255})
	a := c.get(rasterKey{w: 8, h: 8}, img)
	if c.get(rasterKey{w: 8, h: 8}, img) != a {
		t.Fatal("the same key was rasterised twice")
	}
	for i := range 3 * maxCached {
		c.get(rasterKey{w: 8, h: 8, rot: i}, img)
	}
	if len(c.m) > maxCached {
		t.Fatalf("%d entries, at most %d", len(c.m), maxCached)
	}
}

func BenchmarkBlend640x480(b *testing.B) {
	im := vpx.NewImage(640, 480)
	r := rasterize(solidNRGBA(256, 256, color.NRGBA{R: 200, G: 50, B: 50, A: 200}), 192, 192, 15)
	for b.Loop() {
		blend(im, r, 100, 100, 230)
	}
}
