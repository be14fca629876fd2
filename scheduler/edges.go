package scheduler

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// EdgeInfo is one live realtime edge as gateways see it.
type EdgeInfo struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Sessions    int       `json:"sessions"`
	MaxSessions int       `json:"max_sessions"`
	CPU         float64   `json:"cpu"`
	SeenAt      time.Time `json:"seen_at"`
}

// edgeRegistry keeps the edges that reported within their TTL.
type edgeRegistry struct {
	mu    sync.Mutex
	edges map[string]*edgeEntry
	clock clock.Clock
	ttl   time.Duration
}

type edgeEntry struct {
	info  EdgeInfo
	timer clock.Timer
}

func (r *edgeRegistry) report(rep *workerpb.EdgeReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.edges == nil {
		r.edges = map[string]*edgeEntry{}
	}
	id := rep.GetEdgeId()
	e := r.edges[id]
	if e == nil {
		e = &edgeEntry{}
		e.timer = r.clock.AfterFunc(r.ttl, func() { r.expire(id, e) })
		r.edges[id] = e
	} else {
		e.timer.Reset(r.ttl)
	}
	e.info = EdgeInfo{ID: id, URL: rep.GetUrl(), Sessions: int(rep.GetSessions()), MaxSessions: int(rep.GetMaxSessions()),
		CPU: rep.GetCpuUtilization(), SeenAt: r.clock.Now()}
}

func (r *edgeRegistry) expire(id string, e *edgeEntry) {
	r.mu.Lock()
	if r.edges[id] == e {
		delete(r.edges, id)
	}
	r.mu.Unlock()
}

func (r *edgeRegistry) list() []EdgeInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]EdgeInfo, 0, len(r.edges))
	for _, e := range r.edges {
		out = append(out, e.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Edges lists the live edges (leader only).
func (s *Scheduler) Edges() []EdgeInfo { return s.edges.list() }

// ReportEdge records an edge's heartbeat; standbys answer Unavailable.
func (srv *Server) ReportEdge(ctx context.Context, rep *workerpb.EdgeReport) (*workerpb.EdgeAck, error) {
	if !srv.s.Leading() {
		return nil, status.Error(codes.Unavailable, ErrNotLeader.Error())
	}
	if rep.GetEdgeId() == "" || rep.GetUrl() == "" {
		return nil, status.Error(codes.InvalidArgument, "edge_id and url are required")
	}
	srv.s.edges.report(rep)
	return &workerpb.EdgeAck{IntervalMs: srv.s.cfg.HeartbeatInterval.Milliseconds()}, nil
}

// publishEdges hands the live edges to EdgeSink (gateways read them).
func (s *Scheduler) publishEdges(ctx context.Context) {
	if s.deps.EdgeSink == nil {
		return
	}
	b, err := json.Marshal(s.edges.list())
	if err == nil {
		s.deps.EdgeSink(ctx, b)
	}
}
