package main

import (
	"fmt"
	"io"
	"strings"
)

// print writes the results as a markdown table: each mode's figure pooled
// over its rounds (a sum over a sum, so that a garbage collection or an
// etcd snapshot that lands in one window weighs no more than its share),
// and its cost against tracing off.
func (r *results) print(w io.Writer, o options) {
	fmt.Fprintf(w, "\nTracing overhead: each set-up's stack side by side, one process each, taking turns; spans to an OTLP sink that discards them.\n\n")
	fmt.Fprintf(w, "| measure |")
	for _, m := range modes {
		fmt.Fprintf(w, " tracing %s |", m.name)
	}
	fmt.Fprintf(w, "\n| --- |%s\n", strings.Repeat(" ---: |", len(modes)))
	off := modes[0].name
	row := func(what, format string, higherIsBetter bool, value func(mode string) float64) {
		base := value(off)
		fmt.Fprintf(w, "| %s |", what)
		for _, m := range modes {
			v := value(m.name)
			fmt.Fprintf(w, " "+format, v)
			if m.name != off {
				fmt.Fprint(w, cost(base, v, higherIsBetter))
			}
			fmt.Fprint(w, " |")
		}
		fmt.Fprintln(w)
	}
	if o.submit {
		sum := func(mode string, f func(window) float64) float64 {
			var t float64
			for _, x := range r.submit[mode] {
				t += f(x)
			}
			return t
		}
		jobs := func(mode string) float64 { return sum(mode, func(x window) float64 { return float64(x.jobs) }) }
		row(fmt.Sprintf("gateway submit throughput (accepted/s, %d in flight; %d windows of %s)", o.conns, len(r.submit[off]), o.window), "%.0f", true,
			func(mode string) float64 {
				return ratio(jobs(mode), sum(mode, func(x window) float64 { return x.secs }))
			})
		row("CPU time per job, submission to success, of its stack's process above its idle use (µs)", "%.0f", false,
			func(mode string) float64 {
				return ratio(sum(mode, func(x window) float64 { return x.busy }), jobs(mode)) * 1e6
			})
		shareRow(w, "the stack's CPU time in tracing code, by its CPU profile (%)", r.submitShare)
		fmt.Fprintf(w, "| the stack's idle CPU use (%% of a core) |")
		for _, m := range modes {
			fmt.Fprintf(w, " %.1f |", r.idle[m.name]*100)
		}
		fmt.Fprintln(w)
	}
	if o.render {
		mean := func(mode string, f func(render) float64) float64 {
			var t float64
			for _, x := range r.render[mode] {
				t += f(x)
			}
			return ratio(t, float64(len(r.render[mode])))
		}
		row(fmt.Sprintf("reference render, queued to finished (s; mean of %d)", len(r.render[off])), "%.2f", false,
			func(mode string) float64 { return mean(mode, func(x render) float64 { return x.secs }) })
		row("CPU time of the reference render, stack and ffmpeg (s)", "%.2f", false,
			func(mode string) float64 { return mean(mode, func(x render) float64 { return x.cpu }) })
	}
	if o.render {
		shareRow(w, "the render stack's CPU time in tracing code, ffmpeg not counted (%)", r.renderShare)
	}
	fmt.Fprintf(w, "| spans exported |")
	for _, m := range modes {
		fmt.Fprintf(w, " %d |", r.spans[m.name])
	}
	fmt.Fprintf(w, "\n\nCost is against tracing off: throughput lost, or time added (negative: less, within noise). 'off, again' is a second stack with tracing off: its cost is the benchmark's own noise. The CPU profile rows count only what runs with tracing code on the stack, so they are steady where the timings are not, but leave out the garbage collection of what tracing allocated. Target: at most 3%% at ratio 0.01.\n")
}

// shareRow is a row of tracingShare's figures, in percent.
func shareRow(w io.Writer, what string, shares map[string]float64) {
	fmt.Fprintf(w, "| %s |", what)
	for _, m := range modes {
		if v, ok := shares[m.name]; ok {
			fmt.Fprintf(w, " %.2f |", v*100)
		} else {
			fmt.Fprint(w, " n/a |")
		}
	}
	fmt.Fprintln(w)
}

// cost is " (+x.x%)": how much worse v is than base.
func cost(base, v float64, higherIsBetter bool) string {
	if base == 0 {
		return ""
	}
	c := (v - base) / base * 100
	if higherIsBetter {
		c = 0 - c // not -c: no "-0.0%"
	}
	return fmt.Sprintf(" (%+.1f%%)", c)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
