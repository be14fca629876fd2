package scheduler

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stickerd/stickerd/internal/metrics"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// Server is the gRPC face of a replica: workers open one Connect stream.
type Server struct {
	workerpb.UnimplementedSchedulerServer
	s *Scheduler
	// Leader returns the leader's advertised address, for standbys' hints.
	Leader func(ctx context.Context) string
}

// NewServer wraps a scheduler for gRPC.
func NewServer(s *Scheduler, leader func(context.Context) string) *Server {
	return &Server{s: s, Leader: leader}
}

// Register adds the service to a gRPC server.
func (srv *Server) Register(g *grpc.Server) { workerpb.RegisterSchedulerServer(g, srv) }

// Connect is one worker's session.
func (srv *Server) Connect(stream workerpb.Scheduler_ConnectServer) error {
	ctx := stream.Context()
	if !srv.s.Leading() {
		return srv.notLeader(stream)
	}
	first, err := srv.recvWithin(stream, 10*time.Second)
	if err != nil {
		return err
	}
	reg := first.GetRegister()
	if reg == nil || reg.GetWorkerId() == "" {
		return status.Error(codes.InvalidArgument, "the first message must be Register with a worker_id")
	}
	send := make(chan *workerpb.SchedulerMessage, 8192)
	w, err := srv.s.register(ctx, reg, send)
	if errors.Is(err, ErrNotLeader) {
		return srv.notLeader(stream)
	}
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	closed := w.closed
	defer func() {
		srv.s.mu.Lock()
		if w.send == send {
			srv.s.disconnectLocked(w)
		}
		srv.s.mu.Unlock()
	}()
	if err := stream.Send(&workerpb.SchedulerMessage{Msg: &workerpb.SchedulerMessage_Registered{Registered: &workerpb.Registered{
		HeartbeatIntervalMs: srv.s.cfg.HeartbeatInterval.Milliseconds(), HeartbeatTtlMs: srv.s.cfg.HeartbeatTTL.Milliseconds()}}}); err != nil {
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-closed:
				sendErr <- status.Error(codes.Unavailable, "disconnected by the scheduler")
				return
			case <-ctx.Done():
				return
			case m := <-send:
				if err := stream.Send(m); err != nil {
					sendErr <- err
					return
				}
			}
		}
	}()
	recvErr := make(chan error, 1)
	go func() {
		// Reports are recorded concurrently (each is its own
		// compare-and-swap), so one worker's completions do not queue
		// behind each other's store round trips.
		sem := make(chan struct{}, 64)
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			if m.GetHeartbeat() != nil {
				srv.handle(ctx, w, m)
				continue
			}
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				srv.handle(ctx, w, m)
			}()
		}
	}()
	select {
	case err := <-sendErr:
		return err
	case err := <-recvErr:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (srv *Server) handle(ctx context.Context, w *worker, m *workerpb.WorkerMessage) {
	s := srv.s
	kind := messageType(m)
	metrics.GRPCMessages.WithLabelValues("in", kind).Inc()
	start := s.clock.Now()
	defer func() { metrics.GRPCHandleDuration.WithLabelValues(kind).Observe(s.clock.Since(start).Seconds()) }()
	lctx := s.currentLeaderCtx()
	if lctx == nil {
		return
	}
	// Reports outlive the stream: they are recorded under the leader's
	// context, so a worker hanging up mid-write does not lose its result.
	switch msg := m.Msg.(type) {
	case *workerpb.WorkerMessage_Heartbeat:
		s.heartbeat(w, msg.Heartbeat)
	case *workerpb.WorkerMessage_Progress:
		s.progressReport(lctx, msg.Progress)
	case *workerpb.WorkerMessage_Complete:
		s.complete(lctx, w, msg.Complete)
	case *workerpb.WorkerMessage_Fail:
		s.fail(lctx, w, msg.Fail)
	case *workerpb.WorkerMessage_Released:
		s.released(lctx, w, msg.Released)
	case *workerpb.WorkerMessage_Split:
		s.split(lctx, w, msg.Split)
	}
}

func (s *Scheduler) currentLeaderCtx() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.leading {
		return nil
	}
	return s.leaderCtx
}

func (srv *Server) notLeader(stream grpc.ServerStream) error {
	if srv.Leader != nil {
		ctx, cancel := context.WithTimeout(stream.Context(), time.Second)
		addr := srv.Leader(ctx)
		cancel()
		if addr != "" {
			stream.SetTrailer(metadata.Pairs(workerpb.LeaderHeader, addr))
		}
	}
	return status.Error(codes.Unavailable, ErrNotLeader.Error())
}

func (srv *Server) recvWithin(stream workerpb.Scheduler_ConnectServer, d time.Duration) (*workerpb.WorkerMessage, error) {
	type res struct {
		m   *workerpb.WorkerMessage
		err error
	}
	ch := make(chan res, 1)
	go func() {
		m, err := stream.Recv()
		ch <- res{m, err}
	}()
	t := srv.s.clock.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-t.C():
		return nil, status.Error(codes.DeadlineExceeded, "no Register message")
	}
}

func messageType(m *workerpb.WorkerMessage) string {
	switch m.Msg.(type) {
	case *workerpb.WorkerMessage_Register:
		return "register"
	case *workerpb.WorkerMessage_Heartbeat:
		return "heartbeat"
	case *workerpb.WorkerMessage_Progress:
		return "progress"
	case *workerpb.WorkerMessage_Complete:
		return "complete"
	case *workerpb.WorkerMessage_Fail:
		return "fail"
	case *workerpb.WorkerMessage_Released:
		return "released"
	case *workerpb.WorkerMessage_Split:
		return "split"
	}
	return "unknown"
}
