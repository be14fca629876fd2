package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Fatalf("median %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Fatalf("median %v", got)
	}
	r := &results{
		submitRates: map[string][]float64{"off": {1000, 1010, 990}, "on, ratio 1.0": {900}, "on, ratio 0.01": {980}},
		submitCPU:   map[string][]float64{"off": {500}, "on, ratio 1.0": {600}, "on, ratio 0.01": {505}},
		renderSecs:  map[string][]float64{"off": {10}, "on, ratio 1.0": {10.2}, "on, ratio 0.01": {10.1}},
		renderCPU:   map[string][]float64{"off": {20}, "on, ratio 1.0": {20.4}, "on, ratio 0.01": {20}},
		spans:       map[string]int64{"on, ratio 1.0": 5000, "on, ratio 0.01": 50},
	}
	var b bytes.Buffer
	r.print(&b, options{rounds: 1, window: 2 * time.Second, conns: 8, submit: true, render: true})
	out := b.String()
	for _, want := range []string{"| 1000 | 900 (+10.0%) | 980 (+2.0%) |", "| 10.00 | 10.20 (+2.0%) | 10.10 (+1.0%) |", "| 0 | 5000 | 50 |", "| 500 | 600 (+20.0%) | 505 (+1.0%) |", "| 20.00 | 20.40 (+2.0%) | 20.00 (+0.0%) |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
