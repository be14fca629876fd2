package edge_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

// offerSDP builds a real pion offer with a VP8 sendrecv video track when
// video is set, and a control data channel, gathered on 127.0.0.1.
func offerSDP(t *testing.T, video bool) string {
	t.Helper()
	pc, offer := newPeer(t, video)
	pc.Close()
	return offer
}

// newPeer is offerSDP's peer connection, left open; the test closes it.
func newPeer(t *testing.T, video bool) (*webrtc.PeerConnection, string) {
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
	t.Cleanup(func() { pc.Close() })
	if video {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pc.CreateDataChannel("control", nil); err != nil {
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
	return pc, pc.LocalDescription().SDP
}

// problemBody is a problem+json answer (internal/problem's, as the
// gateway's).
type problemBody struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Code     string            `json:"code"`
	Detail   string            `json:"detail"`
	Instance string            `json:"instance"`
	Errors   []json.RawMessage `json:"errors"`
}

func send(t *testing.T, method, url, ctype, body string, hdr map[string]string) (*http.Response, problemBody, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var p problemBody
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("bad problem body %q: %v", raw, err)
		}
		var members map[string]json.RawMessage
		json.Unmarshal(raw, &members)
		for _, k := range []string{"type", "title", "status", "detail", "code", "instance", "errors"} {
			if _, ok := members[k]; !ok {
				t.Fatalf("problem %s has no %q", raw, k)
			}
		}
		if p.Type != "urn:stickerd:error:"+p.Code || p.Status != resp.StatusCode || p.Instance != req.URL.Path ||
			p.Errors == nil || p.Title != http.StatusText(p.Status) {
			t.Fatalf("problem %s of a %d answer to %s", raw, resp.StatusCode, req.URL.Path)
		}
		if (resp.StatusCode == 429 || resp.StatusCode == 503) != (resp.Header.Get("Retry-After") != "") {
			t.Fatalf("%d answer with Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	return resp, p, string(raw)
}

func TestSignaling_BadRequestsLeaveOtherSessionsAlone(t *testing.T) {
	url, _ := rtctest.StartEdge(t, rtctest.LoopbackConfig())
	// A healthy session streams all along.
	c := connect(t, url, 320, 240, func(f *rtc.Frame, n int) { rtctest.Gradient(f, n) })
	c.waitFor(5*time.Second, "a frame", func(r received) bool { return r.ok })
	sessionURL := url + c.s.ID()
	const sdpType, fragType = "application/sdp", "application/trickle-ice-sdpfrag"
	noVideo := offerSDP(t, false)
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		code, detail                    string
	}{
		// Malformed: 400 SPEC_INVALID (413 and 415 where HTTP says so).
		{"garbage SDP", "POST", "/v1/rtc/sessions", sdpType, "hello, edge", 400, "SPEC_INVALID", "not an SDP offer"},
		{"empty offer", "POST", "/v1/rtc/sessions", sdpType, "", 400, "SPEC_INVALID", "not an SDP offer"},
		{"offer as JSON", "POST", "/v1/rtc/sessions", "application/json", `{"sdp":"v=0"}`, 415, "SPEC_INVALID", "application/sdp"},
		{"offer over 64 KiB", "POST", "/v1/rtc/sessions", sdpType, strings.Repeat("a=x\r\n", 20000), 413, "SPEC_INVALID", "over"},
		{"garbage candidate", "PATCH", "", fragType, "a=mid:0\r\na=candidate:this is not a candidate\r\n", 400, "SPEC_INVALID", "bad ICE candidate"},
		{"candidate with an unknown type", "PATCH", "", fragType,
			"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ bogus\r\n", 400, "SPEC_INVALID", "bad ICE candidate"},
		{"empty fragment", "PATCH", "", fragType, "\r\n", 400, "SPEC_INVALID", "no candidates"},
		{"fragment with an SDP line it cannot hold", "PATCH", "", fragType, "v=0\r\n", 400, "SPEC_INVALID", "unexpected"},
		{"trickle as text", "PATCH", "", "text/plain", "a=end-of-candidates", 415, "SPEC_INVALID", "trickle-ice-sdpfrag"},
		// Well-formed but cannot be negotiated: 422 RTC_NEGOTIATION_FAILED.
		{"offer without video", "POST", "/v1/rtc/sessions", sdpType, noVideo, 422, "RTC_NEGOTIATION_FAILED", "no video"},
		{"foreign ufrag", "PATCH", "", fragType, "a=ice-ufrag:someoneelse\r\na=end-of-candidates\r\n", 422, "RTC_NEGOTIATION_FAILED", "ice-ufrag"},
		// HTTP's own.
		{"GET on the collection", "GET", "/v1/rtc/sessions", "", "", 405, "METHOD_NOT_ALLOWED", "GET is not allowed"},
		{"trickle to an unknown session", "PATCH", "/v1/rtc/sessions/rtc_nope", fragType, "a=end-of-candidates\r\n", 404, "NOT_FOUND", "no such session"},
		{"delete an unknown session", "DELETE", "/v1/rtc/sessions/rtc_nope", "", "", 404, "NOT_FOUND", "no such session"},
		{"PUT on a session", "PUT", "", "", "", 405, "METHOD_NOT_ALLOWED", "PUT is not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := sessionURL
			if tc.path != "" {
				u = url + tc.path
			}
			resp, p, raw := send(t, tc.method, u, tc.ctype, tc.body, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, raw, tc.status)
			}
			if p.Status != tc.status || p.Code != tc.code || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("problem %+v, want code %q and detail with %q", p, tc.code, tc.detail)
			}
		})
	}
	// The healthy session still streams, and a valid trickle is accepted.
	c.drain()
	c.waitFor(2*time.Second, "a frame after the bad requests", func(r received) bool { return r.ok })
	resp, _, raw := send(t, "PATCH", sessionURL, fragType,
		"a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("valid trickle: %d %s", resp.StatusCode, raw)
	}
}

func TestSignaling_CreateAnswersWithLocation(t *testing.T) {
	url, e := rtctest.StartEdge(t, rtctest.LoopbackConfig())
	resp, _, answer := send(t, "POST", url+edge.SessionsPath, "application/sdp", offerSDP(t, true), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", resp.StatusCode, answer)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/v1/rtc/sessions/rtc_") || resp.Header.Get("Content-Type") != "application/sdp" {
		t.Fatalf("Location %q, Content-Type %q", loc, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"a=candidate:", "127.0.0.1", "VP8/90000", "a=sendrecv"} {
		if !strings.Contains(answer, want) {
			t.Errorf("the answer lacks %q", want)
		}
	}
	if n := e.Load().Sessions; n != 1 {
		t.Fatalf("Load().Sessions = %d", n)
	}
	if resp, _, raw := send(t, "DELETE", url+loc, "", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, raw)
	}
	if n := e.Load().Sessions; n != 0 {
		t.Fatalf("Load().Sessions = %d after DELETE", n)
	}
	if resp, _, _ := send(t, "DELETE", url+loc, "", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE: %d", resp.StatusCode)
	}
}

func TestSignaling_SessionLimits(t *testing.T) {
	cfg := rtctest.LoopbackConfig()
	cfg.MaxSessions, cfg.MaxSessionsPerTenant, cfg.RetryAfter = 3, 2, 7*time.Second
	byHeader := edge.Deps{Tenant: func(r *http.Request) (string, error) {
		if t := r.Header.Get("X-Tenant"); t != "" {
			return t, nil
		}
		return "", errors.New("no tenant")
	}}
	url, e := rtctest.StartEdgeWith(t, cfg, byHeader)
	offer := offerSDP(t, true)
	post := func(tenant string) (*http.Response, problemBody) {
		hdr := map[string]string{}
		if tenant != "" {
			hdr["X-Tenant"] = tenant
		}
		resp, p, _ := send(t, "POST", url+edge.SessionsPath, "application/sdp", offer, hdr)
		return resp, p
	}
	tests := []struct {
		tenant     string
		status     int
		code       string
		retryAfter string
	}{
		{"", 401, "UNAUTHORIZED", ""},
		{"a", 201, "", ""},
		{"a", 201, "", ""},
		{"a", 429, "RATE_LIMITED", "7"}, // tenant a is at its limit
		{"b", 201, "", ""},
		{"c", 503, "RTC_MEDIA_FAILED", "7"}, // the edge is full: as the gateway says when no edge has room
	}
	var first string
	for i, tc := range tests {
		resp, p := post(tc.tenant)
		if resp.StatusCode != tc.status || p.Code != tc.code || resp.Header.Get("Retry-After") != tc.retryAfter {
			t.Fatalf("request %d (tenant %q): %d %+v Retry-After %q, want %d %s %q", i, tc.tenant,
				resp.StatusCode, p, resp.Header.Get("Retry-After"), tc.status, tc.code, tc.retryAfter)
		}
		if first == "" && resp.StatusCode == 201 {
			first = resp.Header.Get("Location")
		}
	}
	// Another tenant cannot see or end a's session.
	if resp, _, _ := send(t, "DELETE", url+first, "", "", map[string]string{"X-Tenant": "b"}); resp.StatusCode != 404 {
		t.Fatalf("b deleting a's session: %d", resp.StatusCode)
	}
	if resp, _, _ := send(t, "DELETE", url+first, "", "", map[string]string{"X-Tenant": "a"}); resp.StatusCode != 200 {
		t.Fatalf("a deleting its session: %d", resp.StatusCode)
	}
	if resp, _ := post("a"); resp.StatusCode != 201 {
		t.Fatalf("a after freeing a slot: %d", resp.StatusCode)
	}
	if n := e.Load().Sessions; n != 3 {
		t.Fatalf("Load().Sessions = %d, want 3", n)
	}
}

func TestSignaling_NAT1To1IPsAreAdvertised(t *testing.T) {
	cfg := rtctest.LoopbackConfig()
	cfg.NAT1To1IPs = []string{"192.0.2.10"} // a documentation address: nothing is sent to it
	url, _ := rtctest.StartEdge(t, cfg)
	resp, _, answer := send(t, "POST", url+edge.SessionsPath, "application/sdp", offerSDP(t, true), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", resp.StatusCode, answer)
	}
	if !strings.Contains(answer, " 192.0.2.10 ") || strings.Contains(answer, " 127.0.0.1 ") {
		t.Fatalf("the answer's candidates do not advertise only the NAT address:\n%s", answer)
	}
}

func TestSignaling_UDPPortRange(t *testing.T) {
	cfg := rtctest.LoopbackConfig()
	cfg.ICEPortMin, cfg.ICEPortMax = 47100, 47199
	url, _ := rtctest.StartEdge(t, cfg)
	resp, _, answer := send(t, "POST", url+edge.SessionsPath, "application/sdp", offerSDP(t, true), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", resp.StatusCode, answer)
	}
	found := false
	for _, line := range strings.Split(answer, "\n") {
		f := strings.Fields(line)
		if !strings.HasPrefix(line, "a=candidate:") || len(f) < 6 {
			continue
		}
		found = true
		if port, _ := strconv.Atoi(f[5]); port < 47100 || port > 47199 {
			t.Errorf("candidate port %d outside 47100-47199: %s", port, line)
		}
	}
	if !found {
		t.Fatal("no candidates in the answer")
	}
}
