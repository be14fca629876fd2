package worker

import (
	"context"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// session runs one stream to one scheduler; it returns whether the worker
// got registered, and a leader hint when a standby answered.
func (w *Worker) session(ctx context.Context, addr string) (bool, string, error) {
	conn, err := w.dial(addr)
	if err != nil {
		return false, "", err
	}
	defer conn.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := workerpb.NewSchedulerClient(conn).Connect(sctx)
	if err != nil {
		return false, "", err
	}
	if err := stream.Send(&workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Register{Register: &workerpb.Register{
		WorkerId: w.cfg.ID, Capabilities: w.capabilities(), Running: w.held()}}}); err != nil {
		return false, "", err
	}
	first, err := stream.Recv()
	if err != nil {
		return false, leaderHint(stream), err
	}
	reg := first.GetRegistered()
	if reg == nil {
		return false, "", errNoRegistered
	}
	interval := time.Duration(reg.GetHeartbeatIntervalMs()) * time.Millisecond
	if interval <= 0 {
		interval = time.Second
	}
	out := make(chan *workerpb.WorkerMessage, 1024)
	w.mu.Lock()
	w.send = out
	for _, p := range w.pending { // results the previous session did not get acknowledged
		p.sentAt = w.clock.Now()
		out <- p.msg
	}
	w.mu.Unlock()
	w.log.Info("registered", "scheduler", addr)
	defer func() {
		w.mu.Lock()
		if w.send == out {
			w.send = nil
		}
		w.mu.Unlock()
	}()
	go func() {
		for {
			select {
			case <-sctx.Done():
				return
			case m := <-out:
				if err := stream.Send(m); err != nil {
					cancel()
					return
				}
			}
		}
	}()
	go w.beat(sctx, interval)
	for {
		m, err := stream.Recv()
		if err != nil {
			return true, leaderHint(stream), err
		}
		switch msg := m.Msg.(type) {
		case *workerpb.SchedulerMessage_Assign:
			w.start(msg.Assign)
		case *workerpb.SchedulerMessage_Cancel:
			w.cancelJob(jobs.ID(msg.Cancel.GetJobId()), msg.Cancel.GetFence())
		case *workerpb.SchedulerMessage_Ack:
			w.acked(jobs.ID(msg.Ack.GetJobId()), msg.Ack.GetFence(), msg.Ack.GetAccepted())
		case *workerpb.SchedulerMessage_Drain:
			w.mu.Lock()
			w.draining = true
			w.mu.Unlock()
		}
	}
}

// beat sends heartbeats and re-sends reports that wait too long for an
// Ack. The re-sends of a tick go out before its heartbeat.
func (w *Worker) beat(ctx context.Context, interval time.Duration) {
	t := w.clock.NewTicker(interval)
	defer t.Stop()
	w.heartbeatNow()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			w.resend()
			w.heartbeatNow()
		}
	}
}

func (w *Worker) heartbeatNow() {
	w.mu.Lock()
	hb := &workerpb.Heartbeat{CpuUtilization: w.cpu.sample(), JobsRunning: int32(len(w.tasks)), Draining: w.draining}
	w.mu.Unlock()
	w.push(&workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Heartbeat{Heartbeat: hb}})
}

func (w *Worker) resend() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clock.Now()
	for _, p := range w.pending {
		if now.Sub(p.sentAt) >= w.cfg.ResendAfter && w.send != nil {
			p.sentAt = now
			select {
			case w.send <- p.msg:
			default:
			}
		}
	}
}

// push sends a message on the live session, dropping it when there is none
// or, for heartbeats and progress (not worth keeping), when the outbox is
// full. Reports wait for room: they are also kept in pending and re-sent
// after a reconnect, but dropping one would stall its job for ResendAfter.
func (w *Worker) push(m *workerpb.WorkerMessage) {
	w.mu.Lock()
	out, killed := w.send, w.killed
	w.mu.Unlock()
	if out == nil || killed {
		return
	}
	select {
	case out <- m:
		return
	default:
	}
	switch m.Msg.(type) {
	case *workerpb.WorkerMessage_Heartbeat, *workerpb.WorkerMessage_Progress:
		return
	}
	t := w.clock.NewTimer(w.cfg.ResendAfter)
	defer t.Stop()
	select {
	case out <- m:
	case <-t.C(): // the session is stuck; resend() or the next session delivers it
	}
}
