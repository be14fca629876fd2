package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	w := func(jobs int64, secs, busy float64) window { return window{jobs: jobs, secs: secs, busy: busy} }
	r := &results{
		// Pooled: 0.01's two windows hold 2000 jobs in 2 s (1000/s) and
		// cost 1.01 s of CPU (505 µs a job), whatever each window's own
		// rate was.
		submit: map[string][]window{
			"off":            {w(1100, 1, 0.55), w(900, 1, 0.45)},
			"off, again":     {w(1000, 1, 0.5), w(1000, 1, 0.49)},
			"on, ratio 1.0":  {w(900, 1, 0.54), w(900, 1, 0.54)},
			"on, ratio 0.01": {w(1500, 1.5, 0.75), w(500, 0.5, 0.26)},
		},
		idle:   map[string]float64{"off": 0.02, "off, again": 0.021, "on, ratio 1.0": 0.03, "on, ratio 0.01": 0.02},
		render: map[string][]render{"off": {{10, 20}}, "off, again": {{10, 20.2}}, "on, ratio 1.0": {{10.2, 20.4}}, "on, ratio 0.01": {{10.1, 20}}},
		spans:  map[string]int64{"on, ratio 1.0": 5000, "on, ratio 0.01": 50},
	}
	var b bytes.Buffer
	r.print(&b, options{rounds: 2, window: time.Second, conns: 8, submit: true, render: true})
	out := b.String()
	for _, want := range []string{
		"2 windows of 1s) | 1000 | 1000 (+0.0%) | 900 (+10.0%) | 1000 (+0.0%) |",
		"idle use (µs) | 500 | 495 (-1.0%) | 600 (+20.0%) | 505 (+1.0%) |",
		"| 2.0 | 2.1 | 3.0 | 2.0 |",
		"| 10.00 | 10.00 (+0.0%) | 10.20 (+2.0%) | 10.10 (+1.0%) |",
		"| 20.00 | 20.20 (+1.0%) | 20.40 (+2.0%) | 20.00 (+0.0%) |",
		"| 0 | 0 | 5000 | 50 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// Over a design's rounds every mode runs in each position, and right
// after each other mode, equally often: for three modes (six rounds) and
// for four (four rounds).
func TestOrder_Balanced(t *testing.T) {
	for _, n := range []int{3, 4} {
		var st []*stack
		for i := range n {
			st = append(st, &stack{mode: mode{name: strconv.Itoa(i)}})
		}
		rounds := len(williams(n))
		position := map[[2]string]int{}
		follows := map[[2]string]int{}
		for r := range rounds {
			o := order(st, r)
			for i, s := range o {
				position[[2]string{s.mode.name, strconv.Itoa(i)}]++
				if i > 0 {
					follows[[2]string{o[i-1].mode.name, s.mode.name}]++
				}
			}
		}
		for a := range n {
			for b := range n {
				if got := position[[2]string{strconv.Itoa(a), strconv.Itoa(b)}]; got != rounds/n {
					t.Errorf("%d modes: mode %d in position %d %d times, want %d", n, a, b, got, rounds/n)
				}
				if want := rounds / n; a != b && follows[[2]string{strconv.Itoa(a), strconv.Itoa(b)}] != want {
					t.Errorf("%d modes: %d right after %d %d times, want %d", n, b, a, follows[[2]string{strconv.Itoa(a), strconv.Itoa(b)}], want)
				}
			}
		}
	}
}
