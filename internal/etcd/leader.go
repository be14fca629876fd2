package etcd

import (
	"context"
	"time"

	"github.com/stickerd/stickerd/internal/metrics"
)

// WatchLeader keeps stickerd_etcd_has_leader current for the member (or
// cluster) at endpoints until ctx ends, checking every interval.
func WatchLeader(ctx context.Context, endpoints []string, interval time.Duration) {
	WatchLeaderConfig(ctx, ClientConfig{Endpoints: endpoints}, interval)
}

// WatchLeaderConfig is WatchLeader with TLS and credentials.
func WatchLeaderConfig(ctx context.Context, cc ClientConfig, interval time.Duration) {
	endpoints := cc.Endpoints
	cli, err := DialConfig(ctx, cc)
	for err != nil {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		cli, err = DialConfig(ctx, cc)
	}
	defer cli.Close()
	for {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := cli.Status(sctx, endpoints[0])
		cancel()
		if err == nil && st.Leader != 0 {
			metrics.EtcdHasLeader.Set(1)
		} else {
			metrics.EtcdHasLeader.Set(0)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
