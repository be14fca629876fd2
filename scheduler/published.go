package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/stickerd/stickerd/internal/backoff"

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

// FollowQueueDepth follows the queue depth the leader publishes, through
// an etcd watch, until ctx ends, for gateways in their own processes. A
// reading is a memory read: admission never waits on etcd, so under
// overload no submission queues behind another's read of the signal, and
// a shed costs no etcd round trip. Until the first value has been read
// (etcd unreachable at start) a reading is an error, and the gateway
// admits (fails open); while the watch is broken the last value stands,
// and the gateway's count of its own admissions bounds what gets in.
func FollowQueueDepth(ctx context.Context, cli *clientv3.Client) func() (int, error) {
	f := &depthFollower{}
	go f.run(ctx, cli)
	return f.read
}

// errDepthUnknown is a reading before the first value arrived.
var errDepthUnknown = errors.New("scheduler: the published queue depth is not known yet")

type depthFollower struct {
	// value is the depth plus one, 0 while unknown.
	value atomic.Int64
}

func (f *depthFollower) read() (int, error) {
	v := f.value.Load()
	if v == 0 {
		return 0, errDepthUnknown
	}
	return int(v - 1), nil
}

func (f *depthFollower) set(raw []byte) {
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 {
		return
	}
	f.value.Store(int64(n) + 1)
}

// run reads the key, watches it from the revision read, and starts over
// (after a pause) whenever the watch ends.
func (f *depthFollower) run(ctx context.Context, cli *clientv3.Client) {
	for attempt := 1; ctx.Err() == nil; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := cli.Get(rctx, queueDepthKey)
		cancel()
		if err == nil {
			attempt = 0
			if len(resp.Kvs) == 0 {
				f.set([]byte("0"))
			} else {
				f.set(resp.Kvs[0].Value)
			}
			for wr := range cli.Watch(clientv3.WithRequireLeader(ctx), queueDepthKey, clientv3.WithRev(resp.Header.Revision+1)) {
				if wr.Err() != nil {
					break
				}
				for _, ev := range wr.Events {
					if ev.Type == clientv3.EventTypeDelete {
						f.set([]byte("0"))
					} else {
						f.set(ev.Kv.Value)
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(followRetry.Delay(max(attempt, 1))):
		}
	}
}

// followRetry spaces the follower's attempts to reach etcd again.
var followRetry = backoff.Policy{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2, Jitter: 0.2}
