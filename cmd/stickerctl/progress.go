package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progressBar returns a reporter that draws a one-line bar on w when w is a
// terminal and prints a line per 10% otherwise; f < 0 ends the bar.
func progressBar(w io.Writer, quiet bool) func(float64) {
	if quiet {
		return func(float64) {}
	}
	tty := isTerminal(w)
	lastStep := -1
	drawn := false
	return func(f float64) {
		if f < 0 {
			if drawn && tty {
				fmt.Fprintln(w)
			}
			return
		}
		drawn = true
		if tty {
			const width = 30
			n := int(f * width)
			fmt.Fprintf(w, "\r[%s%s] %3.0f%%", strings.Repeat("#", n), strings.Repeat(".", width-n), f*100)
			return
		}
		if step := int(f * 10); step > lastStep {
			lastStep = step
			fmt.Fprintf(w, "progress %3.0f%%\n", float64(step)*10)
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
