package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/services/assets"
	"github.com/stickerd/stickerd/services/gateway"
)

// TestE2E_ProblemsGatewayAndEdgeAgree sends the gateway and the edge the
// same faults and checks that they answer the same status, code and body
// shape: one status table (errcode.Status), one writer (internal/problem).
// It starts no stack: the gateway's stores are stubs that know no job.
func TestE2E_ProblemsGatewayAndEdgeAgree(t *testing.T) {
	const key = "sk_agree"
	keys := map[string]string{key: "acme"}
	newGateway := func(keyed bool) *gateway.Gateway {
		cfg := gateway.DefaultConfig()
		cfg.Loopback = true
		if keyed {
			cfg.APIKeys = keys
		}
		gw, err := gateway.New(cfg, gateway.Deps{Jobs: noJobs{}, Submitter: noSubmit{}, Assets: noAssets{}, Blobs: noBlobs{}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return gw
	}
	// The keyless loopback gateway, as `stickerd dev` runs it, with a
	// route that fails with a typed error and realtime placement without
	// any edge (as `stickerd gateway` runs it).
	open := newGateway(false)
	open.Engine().POST("/v1/typed", func(c *gin.Context) {
		open.Fail(c, errcode.New(errcode.RTCNegotiationFailed, "the offer's video must be sendrecv and offer VP8"))
	})
	open.MountEdgePlacement(edge.SessionsPath, noEdges{})
	openGW := serve(t, open.Handler())
	keyedGW := serve(t, newGateway(true).Handler())

	// The edge as `stickerd edge` runs it: keyless on loopback behind
	// gateway.LocalOnly, or with API keys through its tenant resolver.
	newEdge := func(deps edge.Deps) *edge.Edge {
		e, err := edge.New(edge.DefaultConfig(), deps, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	openEdge := serve(t, gateway.LocalOnly(newEdge(edge.Deps{}).Handler(), nil))
	keyedEdge := serve(t, newEdge(edge.Deps{Tenant: func(r *http.Request) (string, error) {
		if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && keys[k] != "" {
			return keys[k], nil
		}
		return "", errcode.New(errcode.Unauthorized, "a valid API key is required")
	}}).Handler())
	closed := newEdge(edge.Deps{})
	closed.Close()
	closedEdge := serve(t, closed.Handler())

	type call struct {
		url, method, path, contentType, body string
		header                               []string
	}
	foreign := []string{"Origin", "https://evil.example"}
	tests := []struct {
		name          string
		gateway, edge call
		status        int
		code          errcode.Code
	}{
		{"malformed body",
			call{openGW, "POST", "/v1/renders", "application/json", `{"source": {`, nil},
			call{openEdge, "POST", edge.SessionsPath, "application/sdp", "hello, edge", nil},
			400, errcode.SpecInvalid},
		{"wrong media type",
			call{openGW, "POST", "/v1/renders", "text/plain", "{}", nil},
			call{openEdge, "POST", edge.SessionsPath, "application/json", "{}", nil},
			415, errcode.SpecInvalid},
		{"no API key",
			call{keyedGW, "GET", "/v1/renders", "", "", nil},
			call{keyedEdge, "POST", edge.SessionsPath, "application/sdp", vp8Offer, nil},
			401, errcode.Unauthorized},
		{"a keyless loopback service refuses another site",
			call{openGW, "POST", "/v1/renders", "application/json", "{}", foreign},
			call{openEdge, "POST", edge.SessionsPath, "application/sdp", vp8Offer, foreign},
			403, errcode.Unauthorized},
		{"nothing there",
			call{openGW, "GET", "/v1/renders/job_nope", "", "", nil},
			call{openEdge, "DELETE", edge.SessionsPath + "/rtc_nope", "", "", nil},
			404, errcode.NotFound},
		{"wrong method",
			call{openGW, "PUT", "/v1/renders", "", "", nil},
			call{openEdge, "GET", edge.SessionsPath, "", "", nil},
			405, errcode.MethodNotAllowed},
		{"an offer that cannot be negotiated",
			call{openGW, "POST", "/v1/typed", "", "", nil},
			call{openEdge, "POST", edge.SessionsPath, "application/sdp", dataOnlyOffer, nil},
			422, errcode.RTCNegotiationFailed},
		{"no edge can take a session",
			call{openGW, "POST", edge.SessionsPath, "application/sdp", vp8Offer, nil},
			call{closedEdge, "POST", edge.SessionsPath, "application/sdp", vp8Offer, nil},
			503, errcode.RTCMediaFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answers [2]answer
			for i, c := range []call{tt.gateway, tt.edge} {
				hdr := append([]string{"Content-Type", c.contentType}, c.header...)
				resp := do(t, c.method, c.url+c.path, strings.NewReader(c.body), hdr...)
				answers[i] = readAnswer(t, resp)
				p := answers[i].body
				if resp.StatusCode != tt.status || p.Status != tt.status || p.Code != string(tt.code) {
					t.Fatalf("%s %s%s: %d %s, want %d %s", c.method, c.url, c.path, resp.StatusCode, answers[i].raw, tt.status, tt.code)
				}
				if p.Instance != c.path || p.Type != "urn:stickerd:error:"+p.Code || p.Title != http.StatusText(tt.status) ||
					p.Detail == "" || p.Errors == nil {
					t.Fatalf("%s %s: body %s", c.method, c.path, answers[i].raw)
				}
			}
			g, e := answers[0], answers[1]
			if strings.Join(g.members, ",") != strings.Join(e.members, ",") {
				t.Fatalf("members: gateway %v, edge %v", g.members, e.members)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "WWW-Authenticate"} {
				if g.header.Get(h) != e.header.Get(h) {
					t.Errorf("%s: gateway %q, edge %q", h, g.header.Get(h), e.header.Get(h))
				}
			}
			if (g.header.Get("Retry-After") == "") != (e.header.Get("Retry-After") == "") {
				t.Errorf("Retry-After: gateway %q, edge %q", g.header.Get("Retry-After"), e.header.Get("Retry-After"))
			}
			if tt.status == 429 || tt.status == 503 {
				if g.header.Get("Retry-After") == "" {
					t.Errorf("a %d without Retry-After", tt.status)
				}
			}
		})
	}
}

// answer is a problem answer as read off the wire.
type answer struct {
	header  http.Header
	raw     string
	members []string
	body    struct {
		Type, Title, Detail, Code, Instance string
		Status                              int
		Errors                              []json.RawMessage
	}
}

func readAnswer(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{header: resp.Header, raw: string(raw)}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, raw)
	}
	for k := range m {
		a.members = append(a.members, k)
	}
	sort.Strings(a.members)
	json.Unmarshal(raw, &a.body)
	return a
}

func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// vp8Offer passes the edge's checks of an offer (SDP, sendrecv VP8
// video); it is never negotiated here.
const vp8Offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n"

// dataOnlyOffer is well-formed SDP without video.
const dataOnlyOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"

// The gateway's collaborators, knowing nothing.
type (
	noJobs   struct{}
	noSubmit struct{}
	noAssets struct{}
	noBlobs  struct{}
	noEdges  struct{}
)

func (noJobs) Get(context.Context, jobs.ID) (*jobs.Job, error) { return nil, jobstore.ErrNotFound }
func (noJobs) List(context.Context, jobstore.ListOptions) ([]*jobs.Job, string, error) {
	return nil, "", nil
}
func (noJobs) Watch(context.Context, jobs.ID) (<-chan *jobs.Job, error) {
	return nil, jobstore.ErrNotFound
}

var errNoStub = errors.New("not in this test")

func (noSubmit) Submit(context.Context, string, *spec.Spec) (*jobs.Job, error) { return nil, errNoStub }
func (noSubmit) Cancel(context.Context, string, jobs.ID) (*jobs.Job, error)    { return nil, errNoStub }

func (noAssets) Upload(context.Context, string, string, io.Reader, int64) (*assets.Asset, bool, error) {
	return nil, false, errNoStub
}
func (noAssets) Get(context.Context, string, string) (*assets.Asset, error) {
	return nil, assets.ErrNotFound
}
func (noAssets) Hash(context.Context, string, string) (string, error) { return "", assets.ErrNotFound }

func (noBlobs) Open(context.Context, string) (blob.Object, error) { return nil, blob.ErrNotFound }

func (noEdges) LiveEdges(context.Context) ([]gateway.LiveEdge, error) { return nil, nil }
