package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// SessionID names a realtime session ("rtc_…").
type SessionID string

func newSessionID() SessionID {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return SessionID("rtc_" + hex.EncodeToString(b))
}

// session is one client's peer connection and everything hanging off it.
type session struct {
	id      SessionID
	tenant  string
	edge    *Edge
	cfg     Config
	log     *slog.Logger
	started time.Time

	pc     *webrtc.PeerConnection
	out    *webrtc.TrackLocalStaticSample
	sender *webrtc.RTPSender
	ufrag  string // the client's ICE ufrag, to check trickled fragments

	ctx       context.Context
	cancel    context.CancelFunc
	mu        sync.Mutex // guards stopping, wg.Add, video, ctrl
	stopping  bool
	wg        sync.WaitGroup
	closeOnce sync.Once
	done      chan struct{}
	video     bool
	ctrl      *control
	added     bool // registered with the edge

	targetKbps  atomic.Int64
	forceKey    atomic.Bool
	mediaFailed atomic.Bool
	lastMedia   atomic.Int64 // unix nanoseconds of the last RTP packet
	layers      atomic.Pointer[[]*layer]
	box         *mailbox
	stats       *sessionStats
	life        lifeSpan // the session's span, inside a trace (trace.go)
}

// negotiate builds a session from offer; ctx bounds ICE gathering. life
// is ended at teardown.
func negotiate(ctx context.Context, e *Edge, tenant, offer string, life lifeSpan) (*session, string, error) {
	now := time.Now()
	s := &session{id: newSessionID(), tenant: tenant, edge: e, cfg: e.cfg, started: now,
		done: make(chan struct{}), box: newMailbox(), stats: newSessionStats(now), life: life}
	s.log = e.log.With("session", s.id, "tenant", tenant)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.targetKbps.Store(int64(e.cfg.StartBitrateKbps))
	s.lastMedia.Store(now.UnixNano())
	s.ufrag = offerUfrag(offer)

	var err error
	s.pc, err = newPeer(e.cfg, s.setEstimator)
	if err != nil {
		s.cancel()
		return nil, "", internalError("creating the peer connection", err)
	}
	fail := func(err error) (*session, string, error) {
		s.closeOnce.Do(s.stop) // pion's callbacks must not start a teardown now
		_ = s.pc.GracefulClose()
		return nil, "", err
	}
	s.pc.OnTrack(s.onTrack)
	s.pc.OnDataChannel(s.onDataChannel)
	s.pc.OnConnectionStateChange(s.onConnectionState)
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(negotiationFailed("the offer was refused: %v", err))
	}
	s.out, err = webrtc.NewTrackLocalStaticSample(vp8Codec.RTPCodecCapability, "video", "stickerd-"+string(s.id))
	if err != nil {
		return fail(internalError("creating the video track", err))
	}
	if s.sender, err = s.pc.AddTrack(s.out); err != nil {
		return fail(internalError("adding the video track", err))
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return fail(negotiationFailed("no answer to this offer: %v", err))
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return fail(internalError("setting the answer", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(e.unavailable("ICE candidate gathering timed out"))
	}
	s.mu.Lock()
	s.added = !s.stopping && e.add(s)
	s.mu.Unlock()
	if !s.added {
		return fail(e.unavailable("this edge is shutting down"))
	}
	s.goFunc(s.readRTCP)
	s.goFunc(s.monitor)
	s.goFunc(s.processLoop)
	return s, s.pc.LocalDescription().SDP, nil
}

// offerUfrag returns the offer's ICE username fragment.
func offerUfrag(offer string) string {
	var d sdp.SessionDescription
	if d.UnmarshalString(offer) != nil {
		return ""
	}
	if u, ok := d.Attribute("ice-ufrag"); ok {
		return u
	}
	for _, m := range d.MediaDescriptions {
		if u, ok := m.Attribute("ice-ufrag"); ok {
			return u
		}
	}
	return ""
}

// goFunc runs f on a goroutine that teardown waits for, unless the
// session is already stopping.
func (s *session) goFunc(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

func (s *session) setEstimator(est cc.BandwidthEstimator) {
	est.OnTargetBitrateChange(func(bps int) {
		kbps := min(max(bps/1000, s.cfg.MinBitrateKbps), s.cfg.MaxBitrateKbps)
		if old := s.targetKbps.Swap(int64(kbps)); old != int64(kbps) {
			s.log.Debug("target bitrate", "kbps", kbps)
		}
	})
}

func (s *session) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	s.mu.Lock()
	first := t.Kind() == webrtc.RTPCodecTypeVideo && !s.video
	s.video = s.video || first
	s.mu.Unlock()
	if first && strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeVP8) {
		s.goFunc(func() { s.readLoop(t) })
	}
}

func (s *session) onDataChannel(dc *webrtc.DataChannel) {
	if dc.Label() != ControlLabel {
		return
	}
	s.mu.Lock()
	if s.ctrl != nil {
		s.mu.Unlock()
		return
	}
	s.ctrl = newControl(s, dc)
	c := s.ctrl
	s.mu.Unlock()
	s.goFunc(func() { c.run(s.ctx) })
}

func (s *session) control() *control {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctrl
}

func (s *session) onConnectionState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateFailed:
		s.close(ErrICEFailed)
	case webrtc.PeerConnectionStateClosed:
		s.close(nil)
	}
}

// close starts the teardown once; it never blocks, so pion's callbacks
// may call it. s.done is closed when every resource is freed.
func (s *session) close(reason error) {
	s.closeOnce.Do(func() {
		s.stop()
		go s.teardown(reason)
	})
}

// stop refuses new goroutines and cancels the running ones.
func (s *session) stop() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.cancel()
}

func (s *session) teardown(reason error) {
	_ = s.pc.GracefulClose() // ends the RTP/RTCP reads and pion's goroutines
	s.wg.Wait()              // our goroutines close their codecs on the way out
	s.mu.Lock()
	added := s.added
	s.mu.Unlock()
	if added {
		s.edge.remove(s)
	}
	s.life.end(s, reason)
	close(s.done)
	s.log.Info("session closed", "reason", reason)
}

// monitor sends stats and enforces the idle timeout.
func (s *session) monitor() {
	t := time.NewTicker(s.cfg.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(time.Unix(0, s.lastMedia.Load())) > s.cfg.IdleTimeout {
				s.close(ErrIdle)
				return
			}
			msg := s.stats.tick(now)
			s.edge.updateFPS()
			if c := s.control(); c != nil {
				c.send(msg)
			}
		}
	}
}
