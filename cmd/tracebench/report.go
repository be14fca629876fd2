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
	if o.submit {
		base := median(r.submitRates[off])
		fmt.Fprintf(w, "| gateway submit throughput, median of %d windows of %s (accepted/s, %d in flight) |", len(r.submitRates[off]), o.window, o.conns)
		for _, m := range modes {
			v := median(r.submitRates[m.name])
			fmt.Fprintf(w, " %.0f%s |", v, cost(base, v, true, m.name == off))
		}
		fmt.Fprintln(w)
	}
	if o.render {
		base := median(r.renderSecs[off])
		fmt.Fprintf(w, "| reference render, queued to finished, median of %d (s) |", len(r.renderSecs[off]))
		for _, m := range modes {
			v := median(r.renderSecs[m.name])
			fmt.Fprintf(w, " %.2f%s |", v, cost(base, v, false, m.name == off))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| spans exported |")
	for _, m := range modes {
		fmt.Fprintf(w, " %d |", r.spans[m.name])
	}
	fmt.Fprintf(w, "\n\nCost is against tracing off: throughput lost, or render time added (negative: faster, within noise). Target: at most 3%% at ratio 0.01.\n")
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
