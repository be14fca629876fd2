package jobstore

import (
	"context"
	"errors"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// resubscribeDelay spaces out re-opening a watch that etcd ended (the
// member lost its leader, the connection broke).
const resubscribeDelay = 200 * time.Millisecond

// Event is a change to a job record seen by WatchJobs; it is the job
// package's own type, so that consumers (the scheduler) and their fakes
// need nothing of this package.
type Event = jobs.Event

// Watch returns the job's current record and then every change to it, in
// order. The channel closes after a terminal status has been delivered,
// when the record is deleted, or when ctx ends. Changes queue while the
// reader is busy; when several queued changes share a status only the
// newest is kept, so a slow reader misses progress ticks but never a status
// change. ErrNotFound when there is no such job.
func (s *Store) Watch(ctx context.Context, id jobs.ID) (<-chan *jobs.Job, error) {
	cur, rev, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make(chan *jobs.Job)
	go s.followJob(ctx, cur, rev, out)
	return out, nil
}

func (s *Store) followJob(ctx context.Context, cur *jobs.Job, rev int64, out chan<- *jobs.Job) {
	defer close(out)
	pending := []*jobs.Job{cur}
	ended := cur.Status.Terminal() // no later change matters
	key := s.keys.job(cur.ID)
	var wch clientv3.WatchChan
	var cancel context.CancelFunc = func() {}
	defer func() { cancel() }()
	for {
		if wch == nil && !ended {
			cancel()
			wch, cancel = s.watch(ctx, key, rev+1, false)
		}
		if len(pending) == 0 && ended {
			return
		}
		var send chan<- *jobs.Job
		var head *jobs.Job
		if len(pending) > 0 {
			send, head = out, pending[0]
		}
		select {
		case <-ctx.Done():
			return
		case send <- head:
			pending = pending[1:]
		case resp, ok := <-wch:
			if !ok || resp.Err() != nil {
				wch = nil
				if ok && resp.CompactRevision > 0 {
					// The history we missed is gone: go on from the record
					// as it is now.
					j, r, err := s.get(ctx, cur.ID)
					switch {
					case err == nil:
						pending, rev, ended = queue(pending, j), r, j.Status.Terminal()
						continue
					case errors.Is(err, ErrNotFound):
						ended = true
						continue
					}
				}
				if !s.rewatch(ctx) {
					return
				}
				continue
			}
			if resp.IsProgressNotify() {
				rev = max(rev, resp.Header.Revision)
			}
			for _, ev := range resp.Events {
				rev = ev.Kv.ModRevision
				if ev.Type == clientv3.EventTypeDelete {
					ended = true
					break
				}
				j, err := decode(ev.Kv)
				if err != nil {
					continue // not a job record; nothing to tell the reader
				}
				pending = queue(pending, j)
				if j.Status.Terminal() {
					ended = true
					break
				}
			}
			if ended { // nothing after this matters: stop watching
				cancel()
				wch = nil
			}
		}
	}
}

// queue appends j to the undelivered records, replacing the last one when
// it has the same status: only progress and bookkeeping changed.
func queue(pending []*jobs.Job, j *jobs.Job) []*jobs.Job {
	if n := len(pending); n > 0 && pending[n-1].Status == j.Status {
		pending[n-1] = j
		return pending
	}
	return append(pending, j)
}

// watch opens an etcd watch from revision from. WithRequireLeader makes a
// member that lost its leader end the watch instead of going silent, so we
// re-open it, perhaps on another member.
func (s *Store) watch(ctx context.Context, key string, from int64, prefix bool) (clientv3.WatchChan, context.CancelFunc) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	opts := []clientv3.OpOption{clientv3.WithRev(from), clientv3.WithProgressNotify()}
	if prefix {
		opts = append(opts, clientv3.WithPrefix())
	}
	return s.cli.Watch(wctx, key, opts...), cancel
}

// rewatch waits before a watch is re-opened and reports whether it should
// be: not when ctx ended or the client was closed.
func (s *Store) rewatch(ctx context.Context) bool {
	if ctx.Err() != nil || s.cli.Ctx().Err() != nil {
		return false
	}
	t := time.NewTimer(resubscribeDelay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-s.cli.Ctx().Done():
		return false
	case <-t.C:
		return true
	}
}

// WatchJobs returns every change to any job record from revision
// fromRevision on (0: from now), in revision order, until ctx ends. It
// re-opens the etcd watch where it left off when a member fails. If the
// history from fromRevision has been compacted away (an hour is kept), it
// first sends every current record, then the changes after them: treat
// events as "this is the job now", not as deltas.
func (s *Store) WatchJobs(ctx context.Context, fromRevision int64) (<-chan Event, error) {
	next := fromRevision
	if next <= 0 {
		rev, err := s.Revision(ctx)
		if err != nil {
			return nil, err
		}
		next = rev + 1
	}
	out := make(chan Event, 64)
	go s.followJobs(ctx, next, out)
	return out, nil
}

func (s *Store) followJobs(ctx context.Context, next int64, out chan<- Event) {
	defer close(out)
	send := func(e Event) bool {
		select {
		case out <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		wch, cancel := s.watch(ctx, s.keys.jobs(), next, true)
		var compacted int64
		for resp := range wch {
			if resp.Err() != nil {
				compacted = resp.CompactRevision
				break
			}
			if resp.IsProgressNotify() {
				next = max(next, resp.Header.Revision+1)
			}
			for _, ev := range resp.Events {
				next = ev.Kv.ModRevision + 1
				e := Event{Deleted: ev.Type == clientv3.EventTypeDelete}
				if e.Deleted {
					e.Job = &jobs.Job{ID: s.keys.idFromJobKey(ev.Kv.Key), Revision: ev.Kv.ModRevision}
				} else if j, err := decode(ev.Kv); err == nil {
					e.Job = j
				} else {
					continue
				}
				if !send(e) {
					cancel()
					return
				}
			}
		}
		cancel()
		if compacted > 0 && ctx.Err() == nil {
			rev, ok := s.resync(ctx, send)
			if !ok {
				return
			}
			next = rev + 1
		} else if !s.rewatch(ctx) {
			return
		}
	}
}

// resync sends every job as it is at one revision, which it returns.
func (s *Store) resync(ctx context.Context, send func(Event) bool) (int64, bool) {
	for {
		rev, err := s.Revision(ctx)
		if err == nil {
			err = s.scanAt(ctx, rev, func(j *jobs.Job) error {
				if !send(Event{Job: j}) {
					return ctx.Err()
				}
				return nil
			})
		}
		if err == nil {
			return rev, true
		}
		// Compacted under us, unavailable, or a record that does not
		// decode: try again while anyone is listening.
		if !s.rewatch(ctx) {
			return 0, false
		}
	}
}
