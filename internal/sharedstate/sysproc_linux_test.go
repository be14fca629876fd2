package sharedstate

import (
	"os"
	"syscall"
)

// killWithParent makes the kernel kill redis-server if the test binary
// dies (a timeout panic), so no server outlives its test run.
func killWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// freeze and thaw stop and continue a process: a Redis that hangs
// without closing its connections.
func freeze(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }
func thaw(p *os.Process) error   { return p.Signal(syscall.SIGCONT) }
