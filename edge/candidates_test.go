package edge_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

// A trickled candidate may not aim the edge's STUN checks at link-local,
// metadata, unspecified, multicast or broadcast addresses; private LAN
// addresses are what WebRTC is for, and loopback is fine on an edge that
// is on loopback itself.
func TestSignaling_TrickleRefusesCandidatesAimedAtTheEdgesHost(t *testing.T) {
	cfg := rtctest.LoopbackConfig()
	cfg.DenyCandidates = []string{"198.51.100.0/24"}
	url, _ := rtctest.StartEdge(t, cfg)
	c := connect(t, url, 320, 240, func(f *rtc.Frame, n int) { rtctest.Gradient(f, n) })
	c.waitFor(5*time.Second, "a frame", func(r received) bool { return r.ok })
	sessionURL := url + c.s.ID()
	const fragType = "application/trickle-ice-sdpfrag"
	cand := func(addr string, port int) string {
		return "a=mid:0\r\na=candidate:1 1 udp 2130706431 " + addr + " " + strconv.Itoa(port) + " typ host\r\n"
	}
	tests := []struct {
		name, frag string
		status     int
		detail     string
	}{
		{"cloud metadata", cand("169.254.169.254", 80), 422, "169.254.169.254"},
		{"metadata, IPv6", cand("fd00:ec2::254", 80), 422, "fd00:ec2::254"},
		{"link-local", cand("169.254.10.20", 5000), 422, "link-local"},
		{"link-local IPv6", cand("fe80::1", 5000), 422, "link-local"},
		{"unspecified", cand("0.0.0.0", 5000), 422, "unspecified"},
		{"this network", cand("0.1.2.3", 5000), 422, "unspecified"},
		{"multicast", cand("224.0.0.251", 5353), 422, "multicast"},
		{"broadcast", cand("255.255.255.255", 5000), 422, "broadcast"},
		{"IPv4-mapped metadata", cand("::ffff:169.254.169.254", 80), 422, "169.254.169.254"},
		{"NAT64 metadata", cand("64:ff9b::a9fe:a9fe", 80), 422, "metadata"},
		{"server-reflexive metadata", "a=mid:0\r\na=candidate:2 1 udp 1694498815 169.254.169.254 80 typ srflx raddr 0.0.0.0 rport 0\r\n", 422, "169.254.169.254"},
		{"operator's deny list", cand("198.51.100.7", 5000), 422, "refuses"},
		{"one bad among good ones", cand("10.0.0.5", 5000) + "a=candidate:3 1 udp 2130706431 169.254.169.254 80 typ host\r\n", 422, "line 3"},

		{"private LAN", cand("192.168.1.20", 5000), 204, ""},
		{"private 10/8", cand("10.1.2.3", 5000), 204, ""},
		{"loopback on a loopback edge", cand("127.0.0.1", 5000), 204, ""},
		{"public", cand("93.184.216.34", 5000), 204, ""},
		{"mDNS name", cand("6d3f1a0e-3a3b-4c2f-9e43-0a9f8e2c1b11.local", 5000), 204, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, p, raw := send(t, "PATCH", sessionURL, fragType, tc.frag, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, raw, tc.status)
			}
			if tc.status == 204 {
				return
			}
			if p.Code != "RTC_NEGOTIATION_FAILED" || p.Status != 422 || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("problem %+v, want RTC_NEGOTIATION_FAILED naming %q", p, tc.detail)
			}
		})
	}
	// The session is unharmed.
	c.drain()
	c.waitFor(2*time.Second, "a frame after the refused candidates", func(r received) bool { return r.ok })
}

// An offer's own candidates go through the same filter: the refused ones
// are dropped, and the session connects over the others.
func TestSignaling_OfferCandidatesAreFiltered(t *testing.T) {
	url, _ := rtctest.StartEdge(t, rtctest.LoopbackConfig())
	offer := offerSDP(t, true)
	bad := "a=candidate:9 1 udp 2130706431 169.254.169.254 80 typ host\r\n" +
		"a=candidate:10 1 udp 2130706431 fe80::1 5000 typ host\r\n"
	i := strings.Index(offer, "a=candidate:")
	if i < 0 {
		t.Fatal("the offer has no candidates")
	}
	offer = offer[:i] + bad + offer[i:]
	resp, _, answer := send(t, "POST", url+"/v1/rtc/sessions", "application/sdp", offer, nil)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(answer, "a=candidate:") {
		t.Fatalf("status %d: %s", resp.StatusCode, answer)
	}
}
