package rtctest

import (
	"testing"

	"github.com/stickerd/stickerd/internal/vpx"
	"github.com/stickerd/stickerd/sdk/go/rtc"
)

func TestCounter_SurvivesVP8(t *testing.T) {
	tests := []struct {
		w, h int
		kbps int
	}{
		{320, 240, 300},
		{640, 480, 800},
		{1280, 720, 1500},
	}
	for _, tc := range tests {
		enc, err := vpx.NewEncoder(vpx.EncoderConfig{Width: tc.w, Height: tc.h, BitrateKbps: tc.kbps})
		if err != nil {
			t.Fatal(err)
		}
		dec, _ := vpx.NewDecoder(1)
		f, out := rtc.NewFrame(tc.w, tc.h), &vpx.Image{}
		for i, n := range []uint16{0, 1, 0xFFFF, 0x5A5A, 12345, 7} {
			Gradient(f, i*5)
			StampCounter(f, n)
			data, _, err := enc.Encode(&vpx.Image{Width: f.Width, Height: f.Height, Y: f.Y, U: f.U, V: f.V}, int64(i*33), 33, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dec.Decode(data, out); err != nil {
				t.Fatal(err)
			}
			got, ok := ReadCounter(&rtc.Frame{Width: out.Width, Height: out.Height, Y: out.Y, U: out.U, V: out.V})
			if !ok || got != n {
				t.Errorf("%dx%d: read %d (ok=%v), wrote %d", tc.w, tc.h, got, ok, n)
			}
		}
		enc.Close()
		dec.Close()
	}
	if _, ok := ReadCounter(rtc.NewFrame(320, 240)); ok {
		t.Error("a blank frame read as a counter")
	}
}

func TestRGBToYUV(t *testing.T) {
	tests := []struct {
		r, g, b, y, u, v byte
	}{
		{0, 0, 0, 16, 128, 128},
		{255, 255, 255, 235, 128, 128},
		{255, 0, 0, 82, 90, 240},
	}
	for _, tc := range tests {
		if y, u, v := RGBToYUV(tc.r, tc.g, tc.b); y != tc.y || u != tc.u || v != tc.v {
			t.Errorf("RGBToYUV(%d,%d,%d) = %d %d %d", tc.r, tc.g, tc.b, y, u, v)
		}
	}
}
