package edge

import (
	"bytes"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
)

// statsWindow is how many recent frames the latency percentiles cover.
const statsWindow = 256

// sessionStats counts one session's frames for the stats message and the
// metrics. The media goroutine records; the monitor reads.
type sessionStats struct {
	mu        sync.Mutex
	lat       [statsWindow]time.Duration
	n         int // frames recorded, total
	dropped   int64
	sentSince int // frames sent since the last tick
	lastTick  time.Time
	fps       float64
}

func newSessionStats(now time.Time) *sessionStats { return &sessionStats{lastTick: now} }

// record counts a frame sent after total processing time.
func (st *sessionStats) record(total time.Duration) {
	st.mu.Lock()
	st.lat[st.n%statsWindow] = total
	st.n++
	st.sentSince++
	st.mu.Unlock()
}

// drop counts a frame dropped because the edge was behind.
func (st *sessionStats) drop() {
	st.mu.Lock()
	st.dropped++
	st.mu.Unlock()
}

// tick closes a stats interval and returns the message to send.
func (st *sessionStats) tick(now time.Time) statsMsg {
	st.mu.Lock()
	defer st.mu.Unlock()
	if d := now.Sub(st.lastTick).Seconds(); d > 0 {
		st.fps = float64(st.sentSince) / d
	}
	st.sentSince, st.lastTick = 0, now
	lat := slices.Clone(st.lat[:min(st.n, statsWindow)])
	p50, p95 := percentiles(lat)
	return statsMsg{Op: "stats", FPS: round2(st.fps), LatencyP50: ms(p50), LatencyP95: ms(p95), FramesDropped: st.dropped}
}

func (st *sessionStats) lastFPS() float64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.fps
}

// percentiles returns the 50th and 95th percentiles (nearest rank) of d,
// which it sorts.
func percentiles(d []time.Duration) (p50, p95 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return Percentile(d, 50), Percentile(d, 95)
}

// Percentile returns the p-th percentile (nearest rank) of sorted d.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// clockTicks is USER_HZ, the unit of /proc/self/stat's CPU times; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuMeter measures this process's CPU use between samples.
type cpuMeter struct {
	mu       sync.Mutex
	lastCPU  float64 // seconds
	lastWall time.Time
	last     float64
}

// sample returns the CPU fraction (of all cores) since the previous
// sample; calls closer than 100 ms apart return the previous value.
func (m *cpuMeter) sample() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if !m.lastWall.IsZero() && now.Sub(m.lastWall) < 100*time.Millisecond {
		return m.last
	}
	cpu, ok := processCPU()
	if !ok {
		return 0
	}
	if !m.lastWall.IsZero() {
		wall := now.Sub(m.lastWall).Seconds() * float64(runtime.NumCPU())
		m.last = min(1, max(0, (cpu-m.lastCPU)/wall))
	}
	m.lastCPU, m.lastWall = cpu, now
	return m.last
}

// processCPU reads user+system CPU seconds from /proc/self/stat.
func processCPU() (float64, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces; fields count from after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseFloat(string(f[11]), 64)
	stime, err2 := strconv.ParseFloat(string(f[12]), 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (utime + stime) / clockTicks, true
}
