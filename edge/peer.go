package edge

import (
	"net"
	"slices"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/webrtc/v4"
)

// ICE liveness: pion's defaults would wait 30 s to declare a silent peer
// failed.
const (
	iceDisconnected = 4 * time.Second
	iceFailed       = 10 * time.Second
	iceKeepalive    = 2 * time.Second
)

// vp8Codec is the one video codec the edge negotiates, with the feedback
// that the interceptors act on.
var vp8Codec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
			{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}},
	},
	PayloadType: 96,
}

// newPeer builds a peer connection with its own media engine and
// interceptors, so that its bandwidth estimator belongs to it alone.
// onEstimator receives the estimator once the interceptors are built.
func newPeer(cfg Config, onEstimator func(cc.BandwidthEstimator)) (*webrtc.PeerConnection, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(vp8Codec, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		// No pacer: the encoder's CBR rate control already spreads bits, and
		// pacing a keyframe would add its transmission time to latency.
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(cfg.StartBitrateKbps*1000),
			gcc.SendSideBWEMinBitrate(cfg.MinBitrateKbps*1000),
			gcc.SendSideBWEMaxBitrate(cfg.MaxBitrateKbps*1000),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
	})
	if err != nil {
		return nil, err
	}
	ccf.OnNewPeerConnection(func(_ string, est cc.BandwidthEstimator) { onEstimator(est) })
	reg.Add(ccf)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, err
	}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	se, err := settingEngine(cfg)
	if err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return api.NewPeerConnection(webrtc.Configuration{})
}

// settingEngine applies the ICE settings of cfg.
func settingEngine(cfg Config) (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if len(cfg.ICEHostIPs) > 0 {
		allowed := make([]net.IP, 0, len(cfg.ICEHostIPs))
		loopback := false
		for _, s := range cfg.ICEHostIPs {
			ip := net.ParseIP(s)
			allowed = append(allowed, ip)
			loopback = loopback || ip.IsLoopback()
		}
		se.SetIPFilter(func(ip net.IP) bool {
			return slices.ContainsFunc(allowed, ip.Equal)
		})
		se.SetIncludeLoopbackCandidate(loopback)
	}
	if cfg.ICEPortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.ICEPortMin, cfg.ICEPortMax); err != nil {
			return se, err
		}
	}
	if len(cfg.NAT1To1IPs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.NAT1To1IPs, AsCandidateType: webrtc.ICECandidateTypeHost})
		if err != nil {
			return se, err
		}
	}
	// A client that vanishes without closing is noticed within seconds;
	// the idle timeout is the backstop.
	se.SetICETimeouts(iceDisconnected, iceFailed, iceKeepalive)
	return se, nil
}
