// Package procstat reads the machine's CPU counters from /proc/stat, for
// the CPU utilisation a worker reports in its heartbeats and a benchmark
// records beside its timings.
package procstat
