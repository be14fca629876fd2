package scheduler

import "errors"

var (
	// errSkip aborts a store update that has nothing to change.
	errSkip = errors.New("scheduler: nothing to change")
	// ErrNotLeader is returned to a worker that reaches a standby replica.
	ErrNotLeader = errors.New("scheduler: not the leader")
)
