package wiring

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/scheduler"
	"github.com/stickerd/stickerd/services/gateway"
)

// Edges heartbeat to the scheduler with their load, and a gateway without
// an edge of its own sends a new session to the least-loaded live one.
func TestEdges_HeartbeatAndPlacement(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the pipeline")
	}
	cfg := testConfig(t)
	cfg.Workers = 0
	s := start(t, cfg)
	ed, err := edge.New(edge.DefaultConfig(), edge.Deps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ed.Close()
	edgeSrv := httptest.NewServer(ed.Handler())
	defer edgeSrv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ed.Heartbeat(ctx, "edge-1", edgeSrv.URL, 10, s.SchedulerAddrs(), 100*time.Millisecond, nil)
	waitFor(t, 10*time.Second, "the edge to be published", func() bool {
		es, err := scheduler.ReadEdges(context.Background(), s.Client)
		return err == nil && len(es) == 1 && es[0].ID == "edge-1"
	})
	gcfg := gateway.DefaultConfig()
	gcfg.Loopback = true
	gw, err := NewGateway(s.Client, s.Store, s.Submitter, s.Blobs, nil, GatewayOptions{Config: gcfg})
	if err != nil {
		t.Fatal(err)
	}
	gw.MountEdgePlacement(edge.SessionsPath, EdgeDirectory{Client: s.Client})
	front := httptest.NewServer(gw.Handler())
	defer front.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(front.URL+edge.SessionsPath, "application/sdp", strings.NewReader("v=0"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != edgeSrv.URL+edge.SessionsPath {
		t.Fatalf("got %d Location %q, want 307 to the edge", resp.StatusCode, resp.Header.Get("Location"))
	}
}
