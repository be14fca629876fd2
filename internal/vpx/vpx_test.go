package vpx

import (
	"testing"
	"time"
)

// gradient fills im with a diagonal luma ramp and a chroma tint.
func gradient(im *Image, phase int) {
	for y := 0; y < im.Height; y++ {
		for x := 0; x < im.Width; x++ {
			im.Y[y*im.Width+x] = byte(16 + (x+y+phase)%200)
		}
	}
	fill(im.U, 100)
	fill(im.V, 160)
}

func meanAbsDiff(a, b []byte) float64 {
	var s int
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a))
}

func TestCodec_RoundTrip(t *testing.T) {
	tests := []struct {
		name string
		w, h int
	}{
		{"qvga", 320, 240},
		{"vga", 640, 480},
		{"odd size", 321, 181},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := Live()
			enc, err := NewEncoder(EncoderConfig{Width: tc.w, Height: tc.h, BitrateKbps: 2000})
			if err != nil {
				t.Fatal(err)
			}
			dec, err := NewDecoder(1)
			if err != nil {
				t.Fatal(err)
			}
			if got := Live() - before; got != 2 {
				t.Fatalf("Live() rose by %d, want 2", got)
			}
			src, out := NewImage(tc.w, tc.h), &Image{}
			for i := range 10 {
				gradient(src, i)
				frame, key, err := enc.Encode(src, int64(i*33), 33, i == 5)
				if err != nil {
					t.Fatal(err)
				}
				if (i == 0 || i == 5) != key || key != IsKeyframe(frame) {
					t.Fatalf("frame %d: keyframe %v (tag says %v)", i, key, IsKeyframe(frame))
				}
				if _, err := dec.Decode(frame, out); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if out.Width != tc.w || out.Height != tc.h {
					t.Fatalf("decoded %dx%d", out.Width, out.Height)
				}
			}
			if d := meanAbsDiff(src.Y, out.Y); d > 4 {
				t.Errorf("luma differs by %.2f on average", d)
			}
			if d := meanAbsDiff(src.V, out.V); d > 4 {
				t.Errorf("chroma differs by %.2f on average", d)
			}
			enc.Close()
			dec.Close()
			enc.Close() // idempotent
			if got := Live(); got != before {
				t.Fatalf("Live() = %d after Close, want %d", got, before)
			}
			if _, _, err := enc.Encode(src, 0, 33, false); err != ErrClosed {
				t.Fatalf("Encode after Close: %v", err)
			}
			if _, err := dec.Decode([]byte{1, 2, 3}, out); err != ErrClosed {
				t.Fatalf("Decode after Close: %v", err)
			}
		})
	}
}

func TestCodec_Errors(t *testing.T) {
	tests := []struct {
		name string
		run  func() error
	}{
		{"zero size", func() error { _, err := NewEncoder(EncoderConfig{BitrateKbps: 100}); return err }},
		{"zero bitrate", func() error { _, err := NewEncoder(EncoderConfig{Width: 16, Height: 16}); return err }},
		{"wrong image size", func() error {
			e, err := NewEncoder(EncoderConfig{Width: 32, Height: 32, BitrateKbps: 100})
			if err != nil {
				return nil
			}
			defer e.Close()
			_, _, err = e.Encode(NewImage(16, 16), 0, 33, false)
			return err
		}},
		{"garbage frame", func() error {
			d, err := NewDecoder(1)
			if err != nil {
				return nil
			}
			defer d.Close()
			_, err = d.Decode([]byte("definitely not vp8 data"), &Image{})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if Live() != 0 {
		t.Fatalf("Live() = %d", Live())
	}
}

func TestEncoder_SetBitrateChangesSize(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{Width: 320, Height: 240, BitrateKbps: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	src := NewImage(320, 240)
	total := func(n, base int) int {
		s := 0
		for i := range n {
			gradient(src, (base+i)*7)
			f, _, err := enc.Encode(src, int64((base+i)*33), 33, false)
			if err != nil {
				t.Fatal(err)
			}
			s += len(f)
		}
		return s
	}
	total(30, 0)
	high := total(30, 30)
	if err := enc.SetBitrate(100); err != nil {
		t.Fatal(err)
	}
	total(30, 60)
	low := total(30, 90)
	if low >= high {
		t.Fatalf("100 kbps produced %d bytes, 2000 kbps %d", low, high)
	}
}

func BenchmarkEncode640x480(b *testing.B) {
	enc, _ := NewEncoder(EncoderConfig{Width: 640, Height: 480, BitrateKbps: 1500})
	defer enc.Close()
	src := NewImage(640, 480)
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		gradient(src, i)
		if _, _, err := enc.Encode(src, time.Since(start).Milliseconds(), 33, false); err != nil {
			b.Fatal(err)
		}
	}
}
