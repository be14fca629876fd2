package e2e

import "syscall"

// childAttr makes a child process die with the test binary, so a test that
// panics or is killed leaves no Prometheus behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
