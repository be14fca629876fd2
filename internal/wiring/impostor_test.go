package wiring

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/proto/workerpb"
)

// impostorComplete connects to the leader as a worker with no capacity and
// reports a completion with the given fencing token; it returns whether
// the scheduler accepted it.
func impostorComplete(s *Stack, id jobs.ID, fence int64) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(s.Leader().Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false, err
	}
	defer conn.Close()
	st, err := workerpb.NewSchedulerClient(conn).Connect(ctx)
	if err != nil {
		return false, err
	}
	draining := &workerpb.Heartbeat{Draining: true}
	if err := st.Send(&workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Register{Register: &workerpb.Register{
		WorkerId: "impostor", Capabilities: &workerpb.Capabilities{Concurrency: 1}}}}); err != nil {
		return false, err
	}
	if err := st.Send(&workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Heartbeat{Heartbeat: draining}}); err != nil {
		return false, err
	}
	if err := st.Send(&workerpb.WorkerMessage{Msg: &workerpb.WorkerMessage_Complete{Complete: &workerpb.Complete{
		JobId: string(id), Fence: fence, Output: &workerpb.Output{Key: "outputs/forged.mp4", Bytes: 1}}}}); err != nil {
		return false, err
	}
	for {
		m, err := st.Recv()
		if err != nil {
			return false, err
		}
		if a := m.GetAck(); a != nil && a.GetJobId() == string(id) {
			return a.GetAccepted(), nil
		}
		if m.GetAssign() != nil {
			return false, fmt.Errorf("the impostor was given work")
		}
	}
}
