package edge

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stickerd/stickerd/proto/workerpb"
)

// Heartbeat reports the edge's load to the scheduler leader every
// interval until ctx ends, trying each replica in turn and staying with
// the one that answered, so gateways can place sessions on the
// least-loaded edge. opts are added to the connections' options (TLS
// credentials and the join token, internal/tlsconf); none: plain text.
func (e *Edge) Heartbeat(ctx context.Context, id, url string, maxSessions int, schedulers []string, interval time.Duration, log *slog.Logger, opts ...grpc.DialOption) {
	conns := make([]*grpc.ClientConn, 0, len(schedulers))
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	for _, a := range schedulers {
		c, err := grpc.NewClient(a, opts...)
		if err == nil {
			conns = append(conns, c)
			defer c.Close()
		}
	}
	next := 0
	for {
		load := e.Load()
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
