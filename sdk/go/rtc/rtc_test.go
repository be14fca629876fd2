package rtc_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/vpx"
	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

// countingEdge serves an edge and counts the signaling requests by method.
func countingEdge(t *testing.T, cfg edge.Config) (string, map[string]*atomic.Int64) {
	t.Helper()
	e, err := edge.New(cfg, edge.Deps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]*atomic.Int64{"POST": {}, "PATCH": {}, "DELETE": {}}
	h := e.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := counts[r.Method]; c != nil {
			c.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); e.Close() })
	return srv.URL, counts
}

func TestConnect_Errors(t *testing.T) {
	full := rtctest.LoopbackConfig()
	full.MaxSessions, full.RetryAfter = 1, 3*time.Second
	fullURL, _ := rtctest.StartEdge(t, full)
	hold, err := rtc.Connect(context.Background(), fullURL, rtctest.Options(rtc.Callbacks{}))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	lockedURL, _ := rtctest.StartEdgeWith(t, rtctest.LoopbackConfig(), edge.Deps{Tenant: func(r *http.Request) (string, error) {
		if r.Header.Get("Authorization") != "Bearer right" {
			return "", errcode.New(errcode.Unauthorized, "bad API key")
		}
		return "t1", nil
	}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	l.Close()

	tests := []struct {
		name       string
		url, key   string
		status     int
		code       string
		retryAfter time.Duration
	}{
		{"nothing listening", deadURL, "", 0, "", 0},
		{"edge full", fullURL, "", 503, "RTC_MEDIA_FAILED", 3 * time.Second},
		{"wrong API key", lockedURL, "wrong", 401, "UNAUTHORIZED", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := rtctest.Options(rtc.Callbacks{})
			opts.APIKey, opts.ConnectTimeout = tc.key, 3*time.Second
			s, err := rtc.Connect(context.Background(), tc.url, opts)
			if err == nil {
				s.Close()
				t.Fatal("connected")
			}
			var se *rtc.SignalingError
			if tc.status == 0 {
				if errors.As(err, &se) {
					t.Fatalf("got an HTTP answer: %v", err)
				}
				return
			}
			if !errors.As(err, &se) || se.Status != tc.status || se.Code != tc.code || se.RetryAfter != tc.retryAfter {
				t.Fatalf("err %v (%+v)", err, se)
			}
		})
	}
	opts := rtctest.Options(rtc.Callbacks{})
	opts.APIKey = "right"
	s, err := rtc.Connect(context.Background(), lockedURL, opts)
	if err != nil {
		t.Fatalf("right API key: %v", err)
	}
	s.Close()
}

func TestSession_CallbacksAndStickerOps(t *testing.T) {
	tests := []struct {
		name      string
		noTrickle bool
	}{
		{"trickle", false},
		{"candidates in the offer", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, counts := countingEdge(t, rtctest.LoopbackConfig())
			connected, acks, frames := make(chan struct{}, 1), make(chan string, 8), make(chan *rtc.Frame, 64)
			disconnected := make(chan error, 1)
			opts := rtctest.Options(rtc.Callbacks{
				OnConnected:    func() { connected <- struct{}{} },
				OnStickerAck:   func(id string) { acks <- id },
				OnDisconnected: func(err error) { disconnected <- err },
				OnFrame: func(f *rtc.Frame) {
					select {
					case frames <- f.Clone():
					default:
					}
				},
			})
			opts.Width, opts.Height, opts.NoTrickle = 320, 240, tc.noTrickle
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := rtc.Connect(ctx, url, opts)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-connected:
			default:
				t.Fatal("OnConnected was not called before Connect returned")
			}
			if err := s.AddSticker(ctx, "h1", rtc.Sticker{Type: "image", Builtin: "heart", Width: rtc.F(0.3)}); err != nil {
				t.Fatal(err)
			}
			if id := <-acks; id != "h1" {
				t.Fatalf("ack for %q", id)
			}
			err = s.AddSticker(ctx, "bad", map[string]any{"type": "image", "builtin": "heart", "opacity": 7})
			var ce *rtc.ControlError
			if !errors.As(err, &ce) || ce.Code != "SPEC_INVALID" || ce.Field != "sticker.opacity" || ce.ID != "bad" {
				t.Fatalf("bad sticker: %v", err)
			}
			f := rtc.NewFrame(320, 240)
			rtctest.Solid(f, 60, 128, 128)
			for i := 0; i < 30 && len(frames) == 0; i++ {
				if err := s.SendFrame(f); err != nil {
					t.Fatal(err)
				}
				time.Sleep(33 * time.Millisecond)
			}
			got := <-frames
			if got.Width != 320 || got.Height != 240 || got.Timestamp == 0 && len(frames) > 1 {
				t.Fatalf("frame %dx%d ts %d", got.Width, got.Height, got.Timestamp)
			}
			if _, _, v := rtctest.MeanYUV(got, 160, 120, 6); v < 170 {
				t.Fatalf("no heart in the middle (V=%.0f)", v)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-disconnected; err != nil {
				t.Fatalf("OnDisconnected(%v) after Close", err)
			}
			s.Close() // idempotent
			if err := s.SendFrame(f); !errors.Is(err, rtc.ErrClosed) {
				t.Fatalf("SendFrame after Close: %v", err)
			}
			if err := s.Clear(ctx); !errors.Is(err, rtc.ErrClosed) {
				t.Fatalf("Clear after Close: %v", err)
			}
			if counts["DELETE"].Load() != 1 || counts["POST"].Load() != 1 {
				t.Fatalf("POST %d, DELETE %d", counts["POST"].Load(), counts["DELETE"].Load())
			}
			if p := counts["PATCH"].Load(); tc.noTrickle != (p == 0) {
				t.Fatalf("%d PATCH requests with NoTrickle=%v", p, tc.noTrickle)
			}
			if n := vpx.Live(); n != 0 {
				t.Fatalf("%d codec contexts live after Close", n)
			}
		})
	}
}

func TestFrame_CloneAndAt(t *testing.T) {
	f := rtc.NewFrame(5, 3)
	if f.ChromaWidth() != 3 || f.ChromaHeight() != 2 || len(f.U) != 6 {
		t.Fatalf("chroma %dx%d, %d bytes", f.ChromaWidth(), f.ChromaHeight(), len(f.U))
	}
	f.Y[2*5+4], f.U[1*3+2], f.V[1*3+2] = 10, 20, 30
	c := f.Clone()
	f.Y[2*5+4] = 99
	if y, u, v := c.At(4, 2); y != 10 || u != 20 || v != 30 {
		t.Fatalf("At = %d %d %d", y, u, v)
	}
}
