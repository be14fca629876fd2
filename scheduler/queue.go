package scheduler

import (
	"container/heap"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// item is one queued job.
type item struct {
	id        jobs.ID
	rank      int // jobs.Priority.Rank
	created   time.Time
	notBefore time.Time
	seq       uint64    // FIFO among equals
	gpu       gpuWant   // what the job gains from a GPU worker (gpu.go)
	job       *jobs.Job // the newest record seen, to write from without a read
}

// queue orders jobs by priority, then age; jobs held back by a retry
// backoff wait in a separate heap keyed by their release time.
type jobQueue struct {
	ready   readyHeap
	delayed delayedHeap
	members map[jobs.ID]*item
	seq     uint64
}

func newQueue() *jobQueue { return &jobQueue{members: map[jobs.ID]*item{}} }

func (q *jobQueue) has(id jobs.ID) bool { return q.members[id] != nil }

func (q *jobQueue) len() int { return len(q.ready) + len(q.delayed) }

func (q *jobQueue) push(j *jobs.Job) bool {
	if it := q.members[j.ID]; it != nil {
		if it.job == nil || j.Revision > it.job.Revision {
			it.job = j
		}
		return false
	}
	q.seq++
	it := &item{id: j.ID, rank: j.Priority.Rank(), created: j.CreatedAt, seq: q.seq, gpu: wantsGPU(j.Spec), job: j}
	if j.NotBefore != nil {
		it.notBefore = *j.NotBefore
	}
	q.members[j.ID] = it
	heap.Push(&q.delayed, it)
	return true
}

// promote moves the delayed items whose time has come into the ready heap.
func (q *jobQueue) promote(now time.Time) {
	for len(q.delayed) > 0 && !q.delayed[0].notBefore.After(now) {
		heap.Push(&q.ready, heap.Pop(&q.delayed))
	}
}

// nextRelease is when the earliest delayed item becomes ready (zero if none).
func (q *jobQueue) nextRelease() time.Time {
	if len(q.delayed) == 0 {
		return time.Time{}
	}
	return q.delayed[0].notBefore
}

func (q *jobQueue) peek() *item {
	if len(q.ready) == 0 {
		return nil
	}
	return q.ready[0]
}

func (q *jobQueue) pop() *item {
	it := heap.Pop(&q.ready).(*item)
	delete(q.members, it.id)
	return it
}

func (q *jobQueue) remove(id jobs.ID) {
	if q.members[id] == nil {
		return
	}
	delete(q.members, id)
	for _, h := range []heap.Interface{&q.ready, &q.delayed} {
		switch hh := h.(type) {
		case *readyHeap:
			for i, it := range *hh {
				if it.id == id {
					heap.Remove(hh, i)
					return
				}
			}
		case *delayedHeap:
			for i, it := range *hh {
				if it.id == id {
					heap.Remove(hh, i)
					return
				}
			}
		}
	}
}

type readyHeap []*item

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	if !h[i].created.Equal(h[j].created) {
		return h[i].created.Before(h[j].created)
	}
	return h[i].seq < h[j].seq
}
func (h readyHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *readyHeap) Push(x any)   { *h = append(*h, x.(*item)) }
func (h *readyHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

type delayedHeap []*item

func (h delayedHeap) Len() int           { return len(h) }
func (h delayedHeap) Less(i, j int) bool { return h[i].notBefore.Before(h[j].notBefore) }
func (h delayedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *delayedHeap) Push(x any)        { *h = append(*h, x.(*item)) }
func (h *delayedHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
