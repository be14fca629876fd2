package scheduler

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The leader publishes in etcd what gateways in other processes need:
// the live edges, once a second, and the queue depth, every
// DepthInterval. These are its keys.
const (
	edgesKey      = "/stickerd/scheduler/edges"
	queueDepthKey = "/stickerd/scheduler/queue_depth"
)

// PublishEdges writes the live edges (a JSON list of EdgeInfo).
func PublishEdges(ctx context.Context, cli *clientv3.Client, edges []byte) error {
	_, err := cli.Put(ctx, edgesKey, string(edges))
	return err
}

// ReadEdges reads the live edges the leader published.
func ReadEdges(ctx context.Context, cli *clientv3.Client) ([]EdgeInfo, error) {
	resp, err := cli.Get(ctx, edgesKey)
	if err != nil || len(resp.Kvs) == 0 {
		return nil, err
	}
	var out []EdgeInfo
	return out, json.Unmarshal(resp.Kvs[0].Value, &out)
}

// DepthInterval is how often the leader publishes the queue depth and how
// long PublishedQueueDepth keeps a reading: a gateway's reading is at most
// about twice this old. Gateways count their own recent admissions on top
// (the gateway's Config.QueueSignalLag).
const DepthInterval = 250 * time.Millisecond

// PublishQueueDepth writes the queue depth.
func PublishQueueDepth(ctx context.Context, cli *clientv3.Client, n int) error {
	_, err := cli.Put(ctx, queueDepthKey, strconv.Itoa(n))
	return err
}

// ReadQueueDepth reads the last published queue depth (0 if none yet).
func ReadQueueDepth(ctx context.Context, cli *clientv3.Client) (int, error) {
	resp, err := cli.Get(ctx, queueDepthKey)
	if err != nil {
		return 0, err
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	return strconv.Atoi(string(resp.Kvs[0].Value))
}

// PublishedQueueDepth reads the queue depth the leader publishes, cached
// for DepthInterval, for gateways in their own processes.
func PublishedQueueDepth(cli *clientv3.Client) func() (int, error) {
	var (
		mu   sync.Mutex
		last int
		at   time.Time
	)
	return func() (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) < DepthInterval {
			return last, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := ReadQueueDepth(ctx, cli)
		if err != nil {
			return 0, err
		}
		last, at = n, time.Now()
		return n, nil
	}
}
