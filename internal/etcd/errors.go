package etcd

import "errors"

var (
	// ErrInvalidConfig is returned by Validate (and StartMember) for a
	// MemberConfig that cannot describe a member.
	ErrInvalidConfig = errors.New("etcd: invalid member config")
	// ErrStartTimeout is returned when a member did not become ready within
	// StartTimeout, typically because too few peers of a new cluster are up
	// to form a quorum.
	ErrStartTimeout = errors.New("etcd: member did not become ready in time")
	// ErrStopped is returned when the member's server stopped while starting
	// or serving.
	ErrStopped = errors.New("etcd: member stopped")
	// ErrUnreachable is returned by Dial when no endpoint answered.
	ErrUnreachable = errors.New("etcd: no endpoint reachable")
)
