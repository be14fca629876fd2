package rtc

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

var vp8 = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
			{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}},
	},
	PayloadType: 96,
}

// setup builds the peer connection: one sendrecv VP8 transceiver and the
// control data channel.
func (s *Session) setup() error {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(vp8, webrtc.RTPCodecTypeVideo); err != nil {
		return err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return err
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if len(s.opts.ICEAddrs) > 0 {
		var allowed []net.IP
		loopback := false
		for _, a := range s.opts.ICEAddrs {
			ip := net.ParseIP(a)
			if ip == nil {
				return fmt.Errorf("rtc: ICEAddrs: %q is not an IP address", a)
			}
			allowed = append(allowed, ip)
			loopback = loopback || ip.IsLoopback()
		}
		se.SetIPFilter(func(ip net.IP) bool { return slices.ContainsFunc(allowed, ip.Equal) })
		// Only talk to the same kind of address: a loopback client checks no
		// other candidates.
		se.SetRemoteIPFilter(func(ip net.IP) bool { return !loopback || ip.IsLoopback() })
		se.SetIncludeLoopbackCandidate(loopback)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("rtc: %w", err)
	}
	s.pc = pc
	s.track, err = webrtc.NewTrackLocalStaticSample(vp8.RTPCodecCapability, "video", "stickerd-go")
	if err != nil {
		return err
	}
	tr, err := pc.AddTransceiverFromTrack(s.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return fmt.Errorf("rtc: %w", err)
	}
	s.sender = tr.Sender()
	dc, err := pc.CreateDataChannel("control", nil)
	if err != nil {
		return fmt.Errorf("rtc: %w", err)
	}
	s.ctrl = newControlChannel(s, dc)
	pc.OnConnectionStateChange(s.onConnectionState)
	pc.OnTrack(s.onTrack)
	return nil
}

// negotiate runs the offer/answer exchange and starts trickling.
func (s *Session) negotiate(ctx context.Context) error {
	tr := newTrickler(s)
	if !s.opts.NoTrickle {
		s.pc.OnICECandidate(tr.add)
	}
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("rtc: creating the offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("rtc: %w", err)
	}
	if s.opts.NoTrickle {
		select {
		case <-gathered:
		case <-ctx.Done():
			return fmt.Errorf("rtc: gathering ICE candidates: %w", ctx.Err())
		}
	}
	answer, err := s.sig.offer(ctx, s.pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("rtc: the answer was refused: %w", err)
	}
	if !s.opts.NoTrickle {
		ufrag, pwd, mid := localICE(s.pc.LocalDescription().SDP)
		tr.start(ufrag, pwd, mid)
	}
	s.goFunc(s.readRTCP)
	return nil
}

// localICE reads the ICE credentials and first mid of our offer.
func localICE(offer string) (ufrag, pwd, mid string) {
	var d sdp.SessionDescription
	if d.UnmarshalString(offer) != nil {
		return
	}
	ufrag, _ = d.Attribute("ice-ufrag")
	pwd, _ = d.Attribute("ice-pwd")
	for _, m := range d.MediaDescriptions {
		if ufrag == "" {
			ufrag, _ = m.Attribute("ice-ufrag")
			pwd, _ = m.Attribute("ice-pwd")
		}
		if mid == "" {
			mid, _ = m.Attribute("mid")
		}
	}
	return strings.TrimSpace(ufrag), strings.TrimSpace(pwd), mid
}
