package edge

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

func TestCandidatePolicy(t *testing.T) {
	onLoopback := DefaultConfig() // ICE on 127.0.0.1
	onLAN := DefaultConfig()
	onLAN.ICEHostIPs = []string{"10.0.0.2"}
	everywhere := DefaultConfig()
	everywhere.ICEHostIPs = nil
	lab := DefaultConfig()
	lab.ICEHostIPs = nil
	lab.AllowCandidates = []string{"169.254.0.0/16", "127.0.0.1"}
	lab.DenyCandidates = []string{"10.0.0.0/8", "169.254.169.254"}
	tests := []struct {
		cfg    Config
		addr   string
		refuse string // "" when accepted, else a word of the reason
	}{
		{onLoopback, "127.0.0.1", ""},
		{onLoopback, "::1", ""},
		{onLoopback, "10.1.2.3", ""},
		{onLoopback, "192.168.0.4", ""},
		{onLoopback, "2001:4860::1", ""},
		{onLoopback, "169.254.169.254", "metadata"},
		{onLoopback, "fd00:ec2::254", "metadata"},
		{onLoopback, "169.254.1.1", "link-local"},
		{onLoopback, "fe80::1", "link-local"},
		{onLoopback, "0.0.0.0", "unspecified"},
		{onLoopback, "::", "unspecified"},
		{onLoopback, "239.255.255.250", "multicast"},
		{onLoopback, "ff02::1", "multicast"},
		{onLoopback, "255.255.255.255", "broadcast"},
		{onLoopback, "240.0.0.1", "reserved"},
		{onLoopback, "::ffff:169.254.169.254", "metadata"},
		{onLoopback, "::a9fe:a9fe", "metadata"},
		{onLoopback, "2002:a9fe:a9fe::1", "metadata"},
		{onLAN, "127.0.0.1", "loopback"},
		{onLAN, "::1", "loopback"},
		{onLAN, "::ffff:127.0.0.1", "loopback"},
		{onLAN, "10.0.0.9", ""},
		{everywhere, "127.0.0.1", "loopback"},
		{lab, "169.254.1.1", ""},
		{lab, "127.0.0.1", ""},
		{lab, "127.0.0.2", "loopback"},
		{lab, "169.254.169.254", "refuses"}, // the deny list wins over the allow list
		{lab, "10.9.9.9", "refuses"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.cfg.ICEHostIPs, ",")+"/"+tt.addr, func(t *testing.T) {
			p, err := newCandidatePolicy(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			why := p.refusal(netip.MustParseAddr(tt.addr))
			if (why == "") != (tt.refuse == "") || !strings.Contains(why, tt.refuse) {
				t.Fatalf("refusal(%s) = %q, want %q", tt.addr, why, tt.refuse)
			}
		})
	}
}

func TestConfig_CandidateRangesAreValidated(t *testing.T) {
	for _, bad := range [][]string{{"not an address"}, {"10.0.0.0/33"}, {""}} {
		cfg := DefaultConfig()
		cfg.DenyCandidates = bad
		if cfg.Validate() == nil {
			t.Errorf("deny_candidates %q accepted", bad)
		}
		cfg = DefaultConfig()
		cfg.AllowCandidates = bad
		if cfg.Validate() == nil {
			t.Errorf("allow_candidates %q accepted", bad)
		}
	}
}

// pionOffer is a real offer with a VP8 sendrecv track, gathered on
// 127.0.0.1.
func pionOffer(t *testing.T) string {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	return pc.LocalDescription().SDP
}

// The peer connection never learns an offer's refused candidates: they
// are not in the remote description it was given.
func TestCreate_OfferCandidatesAreFilteredBeforePion(t *testing.T) {
	e, err := New(DefaultConfig(), Deps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	offer := pionOffer(t)
	i := strings.Index(offer, "a=candidate:")
	if i < 0 {
		t.Fatal("the offer has no candidates")
	}
	offer = offer[:i] + "a=candidate:9 1 udp 2130706431 169.254.169.254 80 typ host\r\n" +
		"a=candidate:10 1 udp 2130706431 224.0.0.1 5000 typ host\r\n" + offer[i:]
	resp, err := http.Post(srv.URL+SessionsPath, "application/sdp", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
	id := SessionID(strings.TrimPrefix(resp.Header.Get("Location"), SessionsPath+"/"))
	s := e.lookup("default", id)
	if s == nil {
		t.Fatalf("no session %s", id)
	}
	remote := s.pc.RemoteDescription().SDP
	if strings.Contains(remote, "169.254.169.254") || strings.Contains(remote, "224.0.0.1") {
		t.Fatalf("the peer connection got the refused candidates:\n%s", remote)
	}
	if !strings.Contains(remote, "127.0.0.1") {
		t.Fatalf("the offer's loopback candidate was dropped too:\n%s", remote)
	}
}
