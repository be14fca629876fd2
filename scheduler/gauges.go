package scheduler

import (
	"context"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/metrics"
)

// gaugeLoop refreshes the leader's gauges once a second: queue depth by
// priority, the oldest queued job's age, running jobs, connected workers.
// The queue depth goes to DepthSink more often, every DepthInterval when it
// changed: it is the gateways' backpressure signal, and at thousands of
// submissions a second a second-old depth lets a burst of that size in.
func (s *Scheduler) gaugeLoop(ctx context.Context) {
	t := s.clock.NewTicker(time.Second)
	defer t.Stop()
	defer metrics.QueueOldestAge.Set(0)
	var depthTick <-chan time.Time
	if s.deps.DepthSink != nil {
		dt := s.clock.NewTicker(DepthInterval)
		defer dt.Stop()
		depthTick = dt.C()
	}
	published := s.updateGauges()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			published = s.updateGauges()
		case <-depthTick:
			if n := s.QueueDepth(); n != published {
				s.publishDepth(n)
				published = n
			}
		}
	}
}

// updateGauges sets the gauges and publishes the edges and the queue
// depth; it returns the depth.
func (s *Scheduler) updateGauges() int {
	depth := map[jobs.Priority]int{jobs.High: 0, jobs.Normal: 0, jobs.Low: 0}
	var oldest time.Time
	s.mu.Lock()
	for _, it := range s.q.members {
		p := jobs.Normal
		switch it.rank {
		case 0:
			p = jobs.High
		case 2:
			p = jobs.Low
		}
		depth[p]++
		if oldest.IsZero() || it.created.Before(oldest) {
			oldest = it.created
		}
	}
	running, connected := 0, 0
	for _, w := range s.workers {
		running += len(w.running)
		if w.send != nil {
			connected++
		}
	}
	s.mu.Unlock()
	for p, n := range depth {
		metrics.QueueDepth.WithLabelValues(string(p)).Set(float64(n))
	}
	age := 0.0
	if !oldest.IsZero() {
		age = s.clock.Now().Sub(oldest).Seconds()
	}
	metrics.QueueOldestAge.Set(max(age, 0))
	metrics.JobsRunning.Set(float64(running))
	metrics.WorkersConnected.Set(float64(connected))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	s.publishEdges(ctx)
	cancel()
	total := depth[jobs.High] + depth[jobs.Normal] + depth[jobs.Low]
	s.publishDepth(total)
	return total
}

// publishDepth hands the queue depth to DepthSink, when there is one.
func (s *Scheduler) publishDepth(n int) {
	if s.deps.DepthSink == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	s.deps.DepthSink(ctx, n)
	cancel()
}
