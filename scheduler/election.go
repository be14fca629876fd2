package scheduler

import (
	"context"
	"time"

	"github.com/stickerd/stickerd/internal/jobstore"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Elector makes this replica the leader: Campaign blocks until it is, and
// returns a context that ends when leadership is lost.
type Elector interface {
	Campaign(ctx context.Context) (context.Context, error)
	// Leader returns the current leader's advertised address ("" if none).
	Leader(ctx context.Context) string
}

// Run campaigns, leads while elected, and campaigns again after losing,
// until ctx ends.
func (s *Scheduler) Run(ctx context.Context, el Elector) error {
	for ctx.Err() == nil {
		lctx, err := el.Campaign(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("campaign failed; retrying", "err", err)
			_ = s.clock.Sleep(ctx, time.Second)
			continue
		}
		if err := s.Lead(lctx); err != nil && lctx.Err() == nil {
			s.log.Error("leading failed", "err", err)
		}
	}
	return nil
}

// EtcdElector elects through an etcd lease: the leader's session keeps a
// key alive; when the leader dies its lease expires after TTL and a
// standby's Campaign returns.
type EtcdElector struct {
	Client *clientv3.Client
	Prefix string
	TTL    time.Duration
	Value  string // this replica's advertised address
}

// Campaign implements Elector.
func (e *EtcdElector) Campaign(ctx context.Context) (context.Context, error) {
	sess, err := concurrency.NewSession(e.Client, concurrency.WithTTL(max(1, int(e.TTL.Seconds()))), concurrency.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	el := concurrency.NewElection(sess, e.Prefix)
	if err := el.Campaign(ctx, e.Value); err != nil {
		sess.Close()
		return nil, err
	}
	// The term fences every write the leader makes with lctx (or with a
	// context that Scheduler.fenced gives the term): the election key's
	// create revision must still be el.Rev() when the write commits.
	lctx, cancel := context.WithCancel(jobstore.WithTerm(ctx, jobstore.Term{Key: el.Key(), Rev: el.Rev()}))
	go func() {
		defer cancel()
		select {
		case <-sess.Done():
		case <-ctx.Done():
			rctx, rc := context.WithTimeout(context.Background(), 2*time.Second)
			_ = el.Resign(rctx)
			rc()
			sess.Close()
		}
	}()
	return lctx, nil
}

// Leader implements Elector.
func (e *EtcdElector) Leader(ctx context.Context) string {
	resp, err := e.Client.Get(ctx, e.Prefix+"/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(1))
	if err != nil || len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}
