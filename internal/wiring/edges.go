package wiring

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stickerd/stickerd/scheduler"
	"github.com/stickerd/stickerd/services/gateway"
)

// EdgeDirectory gives a gateway the live edges the scheduler leader
// publishes in etcd.
type EdgeDirectory struct{ Client *clientv3.Client }

var _ gateway.EdgeDirectory = EdgeDirectory{}

// LiveEdges implements gateway.EdgeDirectory.
func (d EdgeDirectory) LiveEdges(ctx context.Context) ([]gateway.LiveEdge, error) {
	es, err := scheduler.ReadEdges(ctx, d.Client)
	if err != nil {
		return nil, err
	}
	out := make([]gateway.LiveEdge, len(es))
	for i, e := range es {
		out[i] = gateway.LiveEdge{ID: e.ID, URL: e.URL, Sessions: e.Sessions, MaxSessions: e.MaxSessions, CPU: e.CPU}
	}
	return out, nil
}
