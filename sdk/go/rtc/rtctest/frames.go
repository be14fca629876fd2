package rtctest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/sdk/go/rtc"
)

// Counter layout: CounterBits blocks of BlockSize pixels in the top-left
// corner, white for 1 and black for 0, with the inverse bits in a second
// row so that a misread is detected.
const (
	CounterBits = 16
	BlockSize   = 16
)

// Solid paints f one YUV colour.
func Solid(f *rtc.Frame, y, u, v byte) {
	fill(f.Y, y)
	fill(f.U, u)
	fill(f.V, v)
}

// Gradient paints a diagonal luma ramp that moves with phase, over a
// constant chroma.
func Gradient(f *rtc.Frame, phase int) {
	for y := 0; y < f.Height; y++ {
		row := f.Y[y*f.Width : (y+1)*f.Width]
		for x := range row {
			row[x] = byte(32 + (x/2+y/2+phase)%160)
		}
	}
	fill(f.U, 120)
	fill(f.V, 136)
}

// StampCounter writes n into f's top-left corner; f must be at least
// CounterBits*BlockSize wide and 2*BlockSize high.
func StampCounter(f *rtc.Frame, n uint16) {
	for i := range CounterBits {
		bit := n>>(CounterBits-1-i)&1 == 1
		block(f, i*BlockSize, 0, bit)
		block(f, i*BlockSize, BlockSize, !bit)
	}
}

// ReadCounter reads the counter StampCounter wrote; ok is false when the
// blocks are unreadable (no counter, or too damaged).
func ReadCounter(f *rtc.Frame) (n uint16, ok bool) {
	if f.Width < CounterBits*BlockSize || f.Height < 2*BlockSize {
		return 0, false
	}
	for i := range CounterBits {
		top, bottom := mean(f, i*BlockSize, 0), mean(f, i*BlockSize, BlockSize)
		if (top > 128) == (bottom > 128) || abs(top-bottom) < 96 {
			return 0, false
		}
		n <<= 1
		if top > 128 {
			n |= 1
		}
	}
	return n, true
}

// MeanYUV averages a size×size square centred on (cx, cy).
func MeanYUV(f *rtc.Frame, cx, cy, size int) (y, u, v float64) {
	var sy, su, sv, n float64
	for yy := max(0, cy-size/2); yy < min(f.Height, cy+size/2); yy++ {
		for xx := max(0, cx-size/2); xx < min(f.Width, cx+size/2); xx++ {
			Y, U, V := f.At(xx, yy)
			sy, su, sv, n = sy+float64(Y), su+float64(U), sv+float64(V), n+1
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return sy / n, su / n, sv / n
}

// RGBToYUV converts a colour to BT.601 limited range, as the edge does.
func RGBToYUV(r, g, b uint8) (y, u, v byte) {
	R, G, B := int(r), int(g), int(b)
	return byte((66*R+129*G+25*B+128)>>8 + 16),
		byte((-38*R-74*G+112*B+128)>>8 + 128),
		byte((112*R-94*G-18*B+128)>>8 + 128)
}

func block(f *rtc.Frame, x0, y0 int, on bool) {
	lum := byte(16)
	if on {
		lum = 235
	}
	for y := y0; y < y0+BlockSize; y++ {
		fill(f.Y[y*f.Width+x0:y*f.Width+x0+BlockSize], lum)
	}
	cw := f.ChromaWidth()
	for y := y0 / 2; y < (y0+BlockSize)/2; y++ {
		fill(f.U[y*cw+x0/2:y*cw+(x0+BlockSize)/2], 128)
		fill(f.V[y*cw+x0/2:y*cw+(x0+BlockSize)/2], 128)
	}
}

// mean averages the inner half of a block, away from its coded edges.
func mean(f *rtc.Frame, x0, y0 int) int {
	s, n := 0, 0
	for y := y0 + BlockSize/4; y < y0+3*BlockSize/4; y++ {
		for x := x0 + BlockSize/4; x < x0+3*BlockSize/4; x++ {
			s += int(f.Y[y*f.Width+x])
			n++
		}
	}
	return s / n
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func abs(v int) int { return max(v, -v) }

// StartEdge runs an edge with cfg and no collaborators behind an HTTP
// server on 127.0.0.1 and returns the server's base URL; both stop when the
// test ends.
func StartEdge(tb testing.TB, cfg edge.Config) (string, *edge.Edge) {
	tb.Helper()
	return StartEdgeWith(tb, cfg, edge.Deps{})
}

// StartEdgeWith is StartEdge with the edge's collaborators (a tenant
// resolver, an asset opener, a frame observer).
func StartEdgeWith(tb testing.TB, cfg edge.Config, deps edge.Deps) (string, *edge.Edge) {
	tb.Helper()
	e, err := edge.New(cfg, deps, nil)
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	e.Routes(mux)
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	tb.Cleanup(func() {
		srv.Close()
		_ = e.Close()
	})
	return srv.URL, e
}

// LoopbackConfig is edge.DefaultConfig with ICE on 127.0.0.1 only.
func LoopbackConfig() edge.Config {
	cfg := edge.DefaultConfig()
	cfg.ICEHostIPs = []string{"127.0.0.1"}
	return cfg
}

// Options returns client options that keep ICE on 127.0.0.1.
func Options(cb rtc.Callbacks) rtc.Options {
	return rtc.Options{Callbacks: cb, ICEAddrs: []string{"127.0.0.1"}}
}
