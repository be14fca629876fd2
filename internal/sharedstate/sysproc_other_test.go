//go:build !linux

package sharedstate

import (
	"errors"
	"os"
	"syscall"
)

func killWithParent() *syscall.SysProcAttr { return nil }

var errNoSignals = errors.New("stopping a process is only implemented on Linux")

func freeze(*os.Process) error { return errNoSignals }
func thaw(*os.Process) error   { return errNoSignals }
