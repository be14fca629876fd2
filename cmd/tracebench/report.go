package main

import (
	"fmt"
	"io"
	"slices"
)

// print writes the results as a markdown table: the median of each mode,
// and its cost against tracing off.
func (r *results) print(w io.Writer, o options) {
	fmt.Fprintf(w, "\nTracing overhead: %d rounds, modes in turn, a fresh stack each; spans to an OTLP sink that discards them.\n\n", o.rounds)
	fmt.Fprintf(w, "| measure |")
	for _, m := range modes {
		fmt.Fprintf(w, " tracing %s |", m.name)
	}
	fmt.Fprintf(w, "\n| --- |%s\n", repeat(" ---: |", len(modes)))
	off := modes[0].name
	row := func(what string, series map[string][]float64, format string, higherIsBetter bool) {
		base := median(series[off])
		fmt.Fprintf(w, "| %s |", what)
		for _, m := range modes {
			v := median(series[m.name])
			fmt.Fprintf(w, " "+format+"%s |", v, cost(base, v, higherIsBetter, m.name == off))
		}
		fmt.Fprintln(w)
	}
	if o.submit {
		row(fmt.Sprintf("gateway submit throughput (accepted/s, %d in flight; median of %d windows of %s)", o.conns, len(r.submitRates[off]), o.window),
			r.submitRates, "%.0f", true)
		row("CPU time per accepted submission, whole stack in one process (µs)", r.submitCPU, "%.0f", false)
	}
	if o.render {
		row(fmt.Sprintf("reference render, queued to finished (s; median of %d)", len(r.renderSecs[off])), r.renderSecs, "%.2f", false)
		row("CPU time of the reference render, stack and ffmpeg (s)", r.renderCPU, "%.2f", false)
	}
	fmt.Fprintf(w, "| spans exported |")
	for _, m := range modes {
		fmt.Fprintf(w, " %d |", r.spans[m.name])
	}
	fmt.Fprintf(w, "\n\nCost is against tracing off: throughput lost, or time added (negative: less, within noise). On a machine shared with other work the CPU rows are the steadier ones. Target: at most 3%% at ratio 0.01.\n")
}

// cost is " (+x.x%)": how much worse v is than base.
func cost(base, v float64, higherIsBetter, self bool) string {
	if self || base == 0 {
		return ""
	}
	c := (v - base) / base * 100
	if higherIsBetter {
		c = -c
	}
	return fmt.Sprintf(" (%+.1f%%)", c)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
