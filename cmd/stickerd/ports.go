package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/stickerd/stickerd/internal/etcd"
)

// listenFlag is an address a command listens on and the flag that sets it.
type listenFlag struct{ flag, addr string }

// errPortInUse says which flag moves a listener off a port another process
// holds: "port 2380 is in use: set --etcd-listen-peer".
func errPortInUse(port, flag string) error {
	return fmt.Errorf("port %s is in use: set --%s", port, flag)
}

// checkPorts fails with errPortInUse for the first address that another
// process listens on, before the command starts anything: otherwise the
// clash would surface half-way through the start, as some component's
// error. A port freed a moment ago (TIME_WAIT) counts as free, and port 0
// is never taken.
func checkPorts(ls ...listenFlag) error {
	for _, l := range ls {
		_, port, err := net.SplitHostPort(l.addr)
		if err != nil {
			return fmt.Errorf("--%s %q: %v", l.flag, l.addr, err)
		}
		if port == "0" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return errPortInUse(port, l.flag)
		}
		if err == nil {
			ln.Close()
		}
	}
	return nil
}

// etcdPortFlags names the flags of an embedded etcd member's listeners, for
// a clash that etcd reports itself (another process took the port after
// checkPorts).
func etcdPortFlags(err error, clientFlag, peerFlag string) error {
	var pe *etcd.PortInUseError
	if !errors.As(err, &pe) {
		return err
	}
	if pe.Role == "peer" {
		return errPortInUse(pe.Port(), peerFlag)
	}
	return errPortInUse(pe.Port(), clientFlag)
}
