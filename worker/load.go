package worker

import (
	"sync"

	"github.com/stickerd/stickerd/internal/procstat"
)

// cpuMeter measures whole-machine CPU utilisation between calls from
// /proc/stat (0 where it is unavailable).
type cpuMeter struct {
	mu          sync.Mutex
	idle, total uint64
}

func (m *cpuMeter) sample() float64 {
	idle, total, ok := procstat.CPU()
	if !ok {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	di, dt := idle-m.idle, total-m.total
	first := m.total == 0
	m.idle, m.total = idle, total
	if first || dt == 0 {
		return 0
	}
	return 1 - float64(di)/float64(dt)
}
