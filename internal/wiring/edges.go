package wiring

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/proto/workerpb"
	"github.com/stickerd/stickerd/scheduler"
	"github.com/stickerd/stickerd/services/gateway"
)

// edgesKey holds the live edges the leader last published.
const edgesKey = "/stickerd/scheduler/edges"

// PublishEdges writes the live edges (the leader calls it once a second).
func PublishEdges(ctx context.Context, cli *clientv3.Client, edges []byte) error {
	_, err := cli.Put(ctx, edgesKey, string(edges))
	return err
}

// ReadEdges reads the live edges the leader published.
func ReadEdges(ctx context.Context, cli *clientv3.Client) ([]scheduler.EdgeInfo, error) {
	resp, err := cli.Get(ctx, edgesKey)
	if err != nil || len(resp.Kvs) == 0 {
		return nil, err
	}
	var out []scheduler.EdgeInfo
	return out, json.Unmarshal(resp.Kvs[0].Value, &out)
}

// EdgeHeartbeat reports an edge's load to the scheduler leader every
// interval until ctx ends, trying each replica in turn.
func EdgeHeartbeat(ctx context.Context, ed *edge.Edge, id, url string, maxSessions int, schedulers []string, interval time.Duration, log *slog.Logger) {
	conns := make([]*grpc.ClientConn, 0, len(schedulers))
	for _, a := range schedulers {
		c, err := grpc.NewClient(a, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err == nil {
			conns = append(conns, c)
			defer c.Close()
		}
	}
	next := 0
	for {
		load := ed.Load()
		rep := &workerpb.EdgeReport{EdgeId: id, Url: url, Sessions: int32(load.Sessions), MaxSessions: int32(maxSessions), CpuUtilization: load.CPU}
		for try := 0; try < len(conns); try++ {
			c := conns[(next+try)%len(conns)]
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := workerpb.NewSchedulerClient(c).ReportEdge(rctx, rep)
			cancel()
			if err == nil {
				next = (next + try) % len(conns) // stay with the leader
				break
			}
			if log != nil && try == len(conns)-1 {
				log.Debug("edge heartbeat not delivered", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// MountEdgePlacement answers POST /v1/rtc/sessions on a gateway without an
// edge of its own with a 307 to the least-loaded live edge, which the
// WHIP client follows with the same offer.
func MountEdgePlacement(gw *gateway.Gateway, cli *clientv3.Client) {
	var (
		mu    sync.Mutex
		cache []scheduler.EdgeInfo
		at    time.Time
	)
	edges := func(ctx context.Context) ([]scheduler.EdgeInfo, error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) < time.Second {
			return cache, nil
		}
		es, err := ReadEdges(ctx, cli)
		if err == nil {
			cache, at = es, time.Now()
		}
		return es, err
	}
	gw.Engine().POST(edge.SessionsPath, gw.Authenticate(), func(c *gin.Context) {
		es, err := edges(c.Request.Context())
		if err != nil {
			gw.Fail(c, errcode.Wrap(errcode.StateStoreUnavailable, err, "cannot read the live edges"))
			return
		}
		e, ok := scheduler.LeastLoaded(es)
		if !ok {
			c.Header("Retry-After", "5")
			gw.Fail(c, errcode.New(errcode.RTCMediaFailed, "no realtime edge is available or has room; try again"))
			return
		}
		c.Redirect(http.StatusTemporaryRedirect, e.URL+edge.SessionsPath)
	})
}
