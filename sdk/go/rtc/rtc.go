package rtc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/stickerd/stickerd/internal/vpx"
)

// Callbacks are called on the session's goroutines; keep them short (a
// slow OnFrame delays the frames after it). Any may be nil.
type Callbacks struct {
	// OnConnected: media and the control channel are up.
	OnConnected func()
	// OnFrame receives each stickered frame coming back, decoded. The frame
	// is reused once the callback returns: Clone it to keep it.
	OnFrame func(f *Frame)
	// OnTrack gives raw access to the incoming track. Set it without
	// OnFrame to read the RTP yourself.
	OnTrack func(t *webrtc.TrackRemote)
	// OnStickerAck: the edge applied an op on the sticker id.
	OnStickerAck func(id string)
	// OnStats receives the edge's once-a-second stats.
	OnStats func(s Stats)
	// OnError receives errors the edge sends unprompted (RTC_MEDIA_FAILED);
	// errors answering a call are returned by that call.
	OnError func(code, message string)
	// OnDisconnected is called once when the session ends: err is nil after
	// Close, otherwise why it ended.
	OnDisconnected func(err error)
}

// Stats are the edge's view of the session.
type Stats struct {
	FPS           float64 `json:"fps"`
	LatencyP50    float64 `json:"latency_ms_p50"` // edge processing per frame, ms
	LatencyP95    float64 `json:"latency_ms_p95"`
	FramesDropped int64   `json:"frames_dropped"`
}

// Options configure Connect. Zero fields take their defaults.
type Options struct {
	// APIKey is sent as a bearer token on the signaling requests.
	APIKey    string
	Callbacks Callbacks
	// Width and Height of the frames SendFrame takes (default 640×480; a
	// frame of another size reopens the encoder).
	Width, Height int
	// FPS is the nominal frame rate (default 30).
	FPS int
	// BitrateKbps is the VP8 target bitrate of the outgoing video (default 1500).
	BitrateKbps int
	// HTTPClient sends the signaling requests (http.DefaultClient if nil).
	HTTPClient *http.Client
	// ICEAddrs restricts the local ICE host candidates to these IPs, e.g.
	// {"127.0.0.1"} for a local edge. Empty: every non-loopback interface.
	ICEAddrs []string
	// ConnectTimeout bounds Connect until media and control are up (default 10s).
	ConnectTimeout time.Duration
	// NoTrickle waits for all ICE candidates and sends them in the offer
	// instead of trickling them with PATCH.
	NoTrickle bool
}

func (o *Options) defaults() {
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 640, 480
	}
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.BitrateKbps <= 0 {
		o.BitrateKbps = 1500
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
}

// Session is a live realtime session. Its methods are safe for concurrent
// use.
type Session struct {
	opts Options
	cb   Callbacks
	sig  *signaler

	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticSample
	sender *webrtc.RTPSender
	ctrl   *controlChannel

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	sendMu   sync.Mutex // guards enc, lastSend
	enc      *vpx.Encoder
	lastSend time.Time
	forceKey atomic.Bool
	// keyRequested is forceKey for SendEncoded callers.
	keyRequested atomic.Bool

	recvMu   sync.Mutex
	recvSSRC uint32

	connected chan struct{}
	connOnce  sync.Once
	closeOnce sync.Once
	closeErr  error
}

// Connect offers a session to the gateway or edge at baseURL (e.g.
// "http://127.0.0.1:8080") and returns once video and the control channel
// are up.
func Connect(ctx context.Context, baseURL string, opts Options) (*Session, error) {
	opts.defaults()
	s := &Session{opts: opts, cb: opts.Callbacks, connected: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.sig = newSignaler(baseURL, opts.APIKey, opts.HTTPClient)
	if err := s.setup(); err != nil {
		s.abort()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	if err := s.negotiate(ctx); err != nil {
		s.abort()
		return nil, err
	}
	for _, ch := range []<-chan struct{}{s.connected, s.ctrl.opened} {
		select {
		case <-ch:
		case <-s.ctx.Done():
			s.abort()
			return nil, errors.New("rtc: connecting: the connection failed")
		case <-ctx.Done():
			s.abort()
			return nil, fmt.Errorf("rtc: connecting: %w", ctx.Err())
		}
	}
	if s.cb.OnConnected != nil {
		s.cb.OnConnected()
	}
	return s, nil
}

// goFunc runs f on a goroutine that Close waits for.
func (s *Session) goFunc(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func (s *Session) onConnectionState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.connOnce.Do(func() { close(s.connected) })
	case webrtc.PeerConnectionStateFailed:
		s.cancel()
		go s.end(errors.New("rtc: the connection failed"))
	case webrtc.PeerConnectionStateClosed:
		s.cancel()
		go s.end(errors.New("rtc: the connection closed"))
	}
}

// Close ends the session: it tells the edge (DELETE), closes the peer
// connection and frees the codecs. It is safe to call more than once.
func (s *Session) Close() error {
	s.end(nil)
	return nil
}

// end tears down once, with err as the reason given to OnDisconnected.
func (s *Session) end(err error) {
	s.closeOnce.Do(func() {
		s.closeErr = err
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			s.sig.delete(ctx)
			cancel()
		}
		s.teardown()
		if s.cb.OnDisconnected != nil {
			s.cb.OnDisconnected(err)
		}
	})
}

// abort ends a session that never connected, without callbacks.
func (s *Session) abort() {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		s.sig.delete(ctx)
		cancel()
		s.teardown()
	})
}

// teardown frees everything; the edge is not told.
func (s *Session) teardown() {
	s.cancel()
	if s.pc != nil {
		_ = s.pc.GracefulClose()
	}
	if s.ctrl != nil {
		s.ctrl.fail(ErrClosed)
	}
	s.wg.Wait()
	s.sendMu.Lock()
	if s.enc != nil {
		_ = s.enc.Close()
		s.enc = nil
	}
	s.sendMu.Unlock()
}

// ID returns the session's path on the server ("/v1/rtc/sessions/rtc_…").
func (s *Session) ID() string { return s.sig.locationPath() }
