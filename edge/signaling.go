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
	"github.com/stickerd/stickerd/internal/problem"
)

// Route paths of the signaling API (docs/api.md).
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
		problem.Write(w, r, problem.New(errcode.NotFound, "no route %s %s", r.Method, r.URL.Path))
	case rest == "" || rest == "/":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			problem.Write(w, r, methodNotAllowed(r))
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
			problem.Write(w, r, methodNotAllowed(r))
		}
	}
}

// methodNotAllowed is the 405 of a route that exists with other methods
// (see the Allow header).
func methodNotAllowed(r *http.Request) *problem.Error {
	return problem.New(errcode.MethodNotAllowed, "%s is not allowed on %s (see the Allow header)", r.Method, r.URL.Path)
}

// errNoSession: an unknown session, or another tenant's.
func errNoSession() *problem.Error { return problem.New(errcode.NotFound, "no such session") }

// tenantOf runs the resolver; its failure is the answer.
func (e *Edge) tenantOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	tenant, err := e.deps.Tenant(r)
	if err != nil {
		var ce *errcode.Error
		if !errors.As(err, &ce) {
			err = errcode.Wrap(errcode.Unauthorized, err, "the request is not authorised")
		}
		problem.Write(w, r, err)
		return "", false
	}
	return tenant, true
}

// readBody checks the media type and reads at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, mediaType string, limit int64) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaType {
		return nil, malformed("Content-Type must be %s", mediaType).WithStatus(http.StatusUnsupportedMediaType)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, malformed("the body is over %d bytes", limit).WithStatus(http.StatusRequestEntityTooLarge)
		}
		return nil, malformed("reading the body: %v", err)
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
		problem.Write(w, r, err)
		return
	}
	filtered, dropped := e.candidates.filterOffer(string(offer))
	if len(dropped) > 0 {
		e.log.Info("offer candidates dropped", "tenant", tenant, "dropped", dropped)
	}
	s, answer, err := e.open(r.Context(), tenant, filtered)
	if err != nil {
		e.release(tenant)
		if problem.From(err).HTTPStatus() >= 500 {
			e.log.Warn("offer failed", "tenant", tenant, "err", err)
		} else {
			e.log.Info("offer refused", "tenant", tenant, "err", err)
		}
		e.report(err, "", tenant)
		problem.Write(w, r, err)
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
		return malformed("the body is not an SDP offer: it is empty")
	}
	if err := d.Unmarshal(body); err != nil {
		return malformed("the body is not an SDP offer: %v", err)
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
		return negotiationFailed("the offer has no video: send a VP8 video track (sendrecv)")
	}
	return negotiationFailed("the offer's video must be sendrecv and offer VP8")
}

// trickle adds the client's ICE candidates (RFC 8840 fragment).
func (e *Edge) trickle(w http.ResponseWriter, r *http.Request, id SessionID) {
	tenant, ok := e.tenantOf(w, r)
	if !ok {
		return
	}
	s := e.lookup(tenant, id)
	if s == nil {
		problem.Write(w, r, errNoSession())
		return
	}
	frag, err := readBody(w, r, "application/trickle-ice-sdpfrag", maxFragSize)
	if err == nil {
		err = s.addCandidates(string(frag), e.candidates)
	}
	if err != nil {
		problem.Write(w, r, err)
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
		problem.Write(w, r, errNoSession())
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
		at := fmt.Sprintf("line %d: ", n+1)
		bad := func(format string, args ...any) error { return malformed(at+format, args...) }
		refused := func(format string, args ...any) error { return negotiationFailed(at+format, args...) }
		switch {
		case line == "":
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			if u := strings.TrimPrefix(line, "a=ice-ufrag:"); s.ufrag != "" && u != s.ufrag {
				return refused("ice-ufrag %q does not match the session's; ICE restarts are not supported", u)
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
				return refused("%s", why)
			}
			cands = append(cands, webrtc.ICECandidateInit{Candidate: c, SDPMid: mid})
		case line == "a=end-of-candidates":
			end = true
		default:
			return bad("unexpected %q in a trickle-ice-sdpfrag", truncate(line, 40))
		}
	}
	if len(cands) == 0 && !end {
		return malformed("the fragment has no candidates")
	}
	for _, c := range cands {
		if err := s.pc.AddICECandidate(c); err != nil {
			return negotiationFailed("the candidate was refused: %v", err)
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
