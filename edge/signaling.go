package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/stickerd/stickerd/internal/errcode"
)

// Route paths of the signaling API (shared/API.md).
const (
	SessionsPath = "/v1/rtc/sessions"
	maxOfferSize = 64 << 10
	maxFragSize  = 16 << 10
)

// Handler serves POST /v1/rtc/sessions and PATCH and DELETE
// /v1/rtc/sessions/{id} on their full paths.
func (e *Edge) Handler() http.Handler { return http.HandlerFunc(e.serveHTTP) }

// Routes registers the signaling paths on mux (an *http.ServeMux, or any
// router with the same Handle method).
func (e *Edge) Routes(mux interface {
	Handle(pattern string, h http.Handler)
}) {
	mux.Handle(SessionsPath, e.Handler())
	mux.Handle(SessionsPath+"/", e.Handler())
}

func (e *Edge) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, SessionsPath)
	switch {
	case !ok:
		writeProblem(w, &httpError{status: http.StatusNotFound, detail: "no such route"})
	case rest == "" || rest == "/":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeProblem(w, &httpError{status: http.StatusMethodNotAllowed, detail: r.Method + " is not allowed here"})
			return
		}
		e.create(w, r)
	default:
		id := SessionID(strings.TrimPrefix(rest, "/"))
		switch r.Method {
		case http.MethodPatch:
			e.trickle(w, r, id)
		case http.MethodDelete:
			e.delete(w, r, id)
		default:
			w.Header().Set("Allow", "PATCH, DELETE")
			writeProblem(w, &httpError{status: http.StatusMethodNotAllowed, detail: r.Method + " is not allowed here"})
		}
	}
}

// tenantOf runs the resolver; its failure is the answer.
func (e *Edge) tenantOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	tenant, err := e.resolveTenant(r)
	if err != nil {
		var ce *errcode.Error
		if !errors.As(err, &ce) {
			err = errcode.Wrap(errcode.Unauthorized, err, "the request is not authorised")
		}
		writeProblem(w, err)
		return "", false
	}
	return tenant, true
}

// readBody checks the media type and reads at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, mediaType string, limit int64) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaType {
		return nil, &httpError{status: http.StatusUnsupportedMediaType, code: errcode.RTCNegotiationFailed,
			detail: "Content-Type must be " + mediaType}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &httpError{status: http.StatusRequestEntityTooLarge, code: errcode.RTCNegotiationFailed,
				detail: fmt.Sprintf("the body is over %d bytes", limit)}
		}
		return nil, negotiationFailed(http.StatusBadRequest, "reading the body: "+err.Error())
	}
	return body, nil
}

// create answers a WHIP offer with a new session.
func (e *Edge) create(w http.ResponseWriter, r *http.Request) {
	tenant, ok := e.tenantOf(w, r)
	if !ok {
		return
	}
	offer, err := readBody(w, r, "application/sdp", maxOfferSize)
	if err == nil {
		err = checkOffer(offer)
	}
	if err == nil {
		err = e.reserve(tenant)
	}
	if err != nil {
		e.report(err, "", tenant)
		writeProblem(w, err)
		return
	}
	filtered, dropped := e.candidates.filterOffer(string(offer))
	if len(dropped) > 0 {
		e.log.Info("offer candidates dropped", "tenant", tenant, "dropped", dropped)
	}
	s, answer, err := e.open(r.Context(), tenant, filtered)
	if err != nil {
		e.release(tenant)
		e.log.Info("offer refused", "tenant", tenant, "err", err)
		e.report(err, "", tenant)
		writeProblem(w, err)
		return
	}
	e.log.Info("session opened", "session", s.id, "tenant", tenant)
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", SessionsPath+"/"+string(s.id))
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// checkOffer refuses what cannot become a session before any peer
// connection is built: garbage, no video, or no VP8 sent both ways.
func checkOffer(body []byte) error {
	var d sdp.SessionDescription
	if len(bytes.TrimSpace(body)) == 0 {
		return negotiationFailed(http.StatusBadRequest, "the body is not an SDP offer: it is empty")
	}
	if err := d.Unmarshal(body); err != nil {
		return negotiationFailed(http.StatusBadRequest, "the body is not an SDP offer: "+err.Error())
	}
	video := false
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		video = true
		if _, inactive := m.Attribute("inactive"); inactive || m.MediaName.Port.Value == 0 {
			continue
		}
		_, sendonly := m.Attribute("sendonly")
		_, recvonly := m.Attribute("recvonly")
		if sendonly || recvonly {
			continue
		}
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToUpper(a.Value), " VP8/90000") {
				return nil
			}
		}
	}
	if !video {
		return negotiationFailed(http.StatusBadRequest, "the offer has no video: send a VP8 video track (sendrecv)")
	}
	return negotiationFailed(http.StatusBadRequest, "the offer's video must be sendrecv and offer VP8")
}

// trickle adds the client's ICE candidates (RFC 8840 fragment).
func (e *Edge) trickle(w http.ResponseWriter, r *http.Request, id SessionID) {
	tenant, ok := e.tenantOf(w, r)
	if !ok {
		return
	}
	s := e.lookup(tenant, id)
	if s == nil {
		writeProblem(w, &httpError{status: http.StatusNotFound, detail: "no such session"})
		return
	}
	frag, err := readBody(w, r, "application/trickle-ice-sdpfrag", maxFragSize)
	if err == nil {
		err = s.addCandidates(string(frag), e.candidates)
	}
	if err != nil {
		writeProblem(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// delete ends a session and returns once its resources are freed.
func (e *Edge) delete(w http.ResponseWriter, r *http.Request, id SessionID) {
	tenant, ok := e.tenantOf(w, r)
	if !ok {
		return
	}
	s := e.lookup(tenant, id)
	if s == nil {
		writeProblem(w, &httpError{status: http.StatusNotFound, detail: "no such session"})
		return
	}
	s.close(ErrDeleted)
	select {
	case <-s.done:
	case <-r.Context().Done():
	}
	w.WriteHeader(http.StatusOK)
}

// open builds the session and its answer, bounded by the request's context.
func (e *Edge) open(ctx context.Context, tenant, offer string) (*session, string, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.GatherTimeout)
	defer cancel()
	return newSession(ctx, e, tenant, offer)
}

// addCandidates applies a trickle-ice-sdpfrag (RFC 8840) body: every
// candidate is checked, against the policy too, before any is added, so a
// bad fragment changes nothing.
func (s *session) addCandidates(frag string, policy candidatePolicy) error {
	var cands []webrtc.ICECandidateInit
	var mid *string
	end := false
	for n, line := range strings.Split(strings.ReplaceAll(frag, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		bad := func(format string, args ...any) error {
			return negotiationFailed(http.StatusBadRequest, fmt.Sprintf("line %d: ", n+1)+fmt.Sprintf(format, args...))
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			if u := strings.TrimPrefix(line, "a=ice-ufrag:"); s.ufrag != "" && u != s.ufrag {
				return bad("ice-ufrag %q does not match the session's; ICE restarts are not supported", u)
			}
		case strings.HasPrefix(line, "a=ice-pwd:"), strings.HasPrefix(line, "m="),
			strings.HasPrefix(line, "a=ice-options:"), strings.HasPrefix(line, "a=group:"):
		case strings.HasPrefix(line, "a=mid:"):
			m := strings.TrimPrefix(line, "a=mid:")
			mid = &m
		case strings.HasPrefix(line, "a=candidate:"):
			c := strings.TrimPrefix(line, "a=")
			_, why, err := policy.checkCandidate(c)
			if err != nil {
				return bad("bad ICE candidate: %v", err)
			}
			if why != "" {
				return bad("%s", why)
			}
			cands = append(cands, webrtc.ICECandidateInit{Candidate: c, SDPMid: mid})
		case line == "a=end-of-candidates":
			end = true
		default:
			return bad("unexpected %q in a trickle-ice-sdpfrag", truncate(line, 40))
		}
	}
	if len(cands) == 0 && !end {
		return negotiationFailed(http.StatusBadRequest, "the fragment has no candidates")
	}
	for _, c := range cands {
		if err := s.pc.AddICECandidate(c); err != nil {
			return negotiationFailed(http.StatusBadRequest, "the candidate was refused: "+err.Error())
		}
	}
	if end {
		_ = s.pc.AddICECandidate(webrtc.ICECandidateInit{})
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
