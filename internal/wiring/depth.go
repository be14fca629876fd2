package wiring

import (
	"context"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// queueDepthKey holds the leader's queue depth for gateways elsewhere.
const queueDepthKey = "/stickerd/scheduler/queue_depth"

// PublishQueueDepth writes the queue depth (the leader calls it once a second).
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
