package worker

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

// cpuMeter measures whole-machine CPU utilisation between calls from
// /proc/stat (0 where it is unavailable).
type cpuMeter struct {
	mu          sync.Mutex
	idle, total uint64
}

func (m *cpuMeter) sample() float64 {
	idle, total, ok := readProcStat()
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

func readProcStat() (idle, total uint64, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, false
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range fields[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return idle, total, true
}
