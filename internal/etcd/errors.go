package etcd

import (
	"errors"
	"fmt"
	"net"
)

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

// ErrPortInUse is what a *PortInUseError matches with errors.Is.
var ErrPortInUse = errors.New("etcd: port in use")

// PortInUseError is returned by StartMember when another process listens on
// one of the member's ports.
type PortInUseError struct {
	// Role is "client" or "peer": which of the member's listeners.
	Role string
	// Addr is the host:port the member could not listen on.
	Addr string
}

// Port is the port number of Addr.
func (e *PortInUseError) Port() string {
	_, port, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return e.Addr
	}
	return port
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("etcd: %s port %s is in use (listening on %s)", e.Role, e.Port(), e.Addr)
}

func (e *PortInUseError) Is(target error) bool { return target == ErrPortInUse }
