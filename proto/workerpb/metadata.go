package workerpb

// LeaderHeader is the gRPC trailer a standby scheduler sets to tell a
// worker or an edge where the dispatching scheduler is.
const LeaderHeader = "stickerd-leader"
