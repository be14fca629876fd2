package procstat

import (
	"runtime"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		idle, total uint64
		ok          bool
	}{
		{"user nice system idle iowait irq", "cpu  10 2 3 100 5 1 0 0 0 0\ncpu0 1 1 1 1 1 1\n", 105, 121, true},
		{"the minimum fields", "cpu 1 2 3 4\n", 4, 10, true},
		{"not the cpu line", "intr 1 2 3 4 5\n", 0, 0, false},
		{"too few fields", "cpu 1 2 3\n", 0, 0, false},
		{"not a number", "cpu 1 x 3 4 5\n", 0, 0, false},
		{"empty", "", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idle, total, ok := parse(strings.NewReader(tt.in))
			if idle != tt.idle || total != tt.total || ok != tt.ok {
				t.Fatalf("parse = %d, %d, %v; want %d, %d, %v", idle, total, ok, tt.idle, tt.total, tt.ok)
			}
		})
	}
}

func TestCPU_ReadsThisMachine(t *testing.T) {
	idle, total, ok := CPU()
	if runtime.GOOS != "linux" {
		if ok {
			t.Fatal("read /proc/stat off Linux")
		}
		return
	}
	if !ok || total == 0 || idle > total {
		t.Fatalf("CPU() = %d, %d, %v", idle, total, ok)
	}
}
