package procstat

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// CPU returns the machine's CPU time counters (in jiffies, summed over
// every core): idle (idle and iowait) and total. ok is false where
// /proc/stat cannot be read (not Linux). Utilisation over an interval is
// 1 - Δidle/Δtotal between two readings.
func CPU() (idle, total uint64, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	return parse(f)
}

// parse reads the first ("cpu") line of a /proc/stat.
func parse(r io.Reader) (idle, total uint64, ok bool) {
	sc := bufio.NewScanner(r)
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
