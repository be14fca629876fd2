package edge_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

// received is a frame that came back, with the counter read from it.
type received struct {
	n  uint16
	ok bool
	f  *rtc.Frame
}

// client is a connected SDK session that streams numbered frames and
// collects what comes back.
type client struct {
	t    *testing.T
	s    *rtc.Session
	back chan received
	stop chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	stats []rtc.Stats
	errs  []string
}

// connect opens a session on url; paint draws frame n before the counter
// is stamped on it.
func connect(t *testing.T, url string, w, h int, paint func(f *rtc.Frame, n int)) *client {
	t.Helper()
	c := &client{t: t, back: make(chan received, 512), stop: make(chan struct{})}
	opts := rtctest.Options(rtc.Callbacks{
		OnFrame: func(f *rtc.Frame) {
			n, ok := rtctest.ReadCounter(f)
			select {
			case c.back <- received{n: n, ok: ok, f: f.Clone()}:
			default: // the test is not reading; drop
			}
		},
		OnStats: func(s rtc.Stats) { c.mu.Lock(); c.stats = append(c.stats, s); c.mu.Unlock() },
		OnError: func(code, msg string) { c.mu.Lock(); c.errs = append(c.errs, code+": "+msg); c.mu.Unlock() },
	})
	opts.Width, opts.Height = w, h
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := rtc.Connect(ctx, url, opts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	c.s = s
	c.wg.Add(1)
	go c.stream(w, h, paint)
	t.Cleanup(c.close)
	return c
}

// stream sends numbered frames at 30 fps until close.
func (c *client) stream(w, h int, paint func(f *rtc.Frame, n int)) {
	defer c.wg.Done()
	f := rtc.NewFrame(w, h)
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for n := 1; ; n++ {
		paint(f, n)
		rtctest.StampCounter(f, uint16(n))
		if c.s.SendFrame(f) != nil {
			return
		}
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
	}
}

func (c *client) close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.wg.Wait()
	c.s.Close()
}

// next returns the next frame that comes back, failing after timeout.
func (c *client) next(timeout time.Duration) received {
	c.t.Helper()
	select {
	case r := <-c.back:
		return r
	case <-time.After(timeout):
		c.t.Fatalf("no frame came back within %v", timeout)
		return received{}
	}
}

// waitFor returns the first frame (within timeout) for which ok holds.
func (c *client) waitFor(timeout time.Duration, what string, ok func(r received) bool) received {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if r := c.next(time.Until(deadline) + time.Millisecond); ok(r) {
			return r
		}
	}
	c.t.Fatalf("no frame within %v: %s", timeout, what)
	return received{}
}

// drain empties the backlog, so that next frames are fresh.
func (c *client) drain() {
	for {
		select {
		case <-c.back:
		default:
			return
		}
	}
}

func (c *client) op(fn func(ctx context.Context) error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fn(ctx); err != nil {
		c.t.Fatalf("control op: %v", err)
	}
}

// solidPNG encodes a w×h PNG of one colour.
func solidPNG(w, h int, col color.NRGBA) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = col.R, col.G, col.B, col.A
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// assets is an asset opener over an in-memory map for tenant "default".
func assets(files map[string][]byte) edge.AssetOpener {
	return func(_ context.Context, tenant, id string) (io.ReadCloser, error) {
		b, ok := files[id]
		if !ok || tenant != "default" {
			return nil, errcode.New(errcode.AssetNotFound, "asset %s not found", id)
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
}

// near reports whether a is within tol of b.
func near(a float64, b byte, tol float64) bool { return a >= float64(b)-tol && a <= float64(b)+tol }

func edgeAssets(files map[string][]byte) edge.Deps { return edge.Deps{Assets: assets(files)} }
