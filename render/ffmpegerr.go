package render

import (
	"path/filepath"
	"regexp"
	"strings"
)

// ffmpeg ends a failure with lines that say only that it failed; the
// cause is in the lines before them.
var genericLines = []string{
	"conversion failed", "error initializing output stream", "error while filtering",
	"error while processing the decoded data", "failed to inject frame into filter network",
	"error reinitializing filters", "error sending frames to consumers", "nothing was written into output file",
	"task finished with error code", "terminating thread with return code", "error while opening encoder",
	"error closing file", "error configuring filters", "error opening output file", "error opening output files",
	"exiting normally", "error marking filters as finished", "error writing trailer",
	// a hardware device that could not be opened: the cause (no libcuda,
	// no device) is said before these
	"device creation failed", "for option 'init_hw_device'", "error parsing global options",
}

var (
	// "[libopus @ 0x55d0c8a1e2c0] " becomes "libopus: ".
	contextPrefix = regexp.MustCompile(`^\[([A-Za-z0-9_:,. -]+?) @ 0x[0-9a-f]+\]\s*`)
	// Absolute paths name the server's folders; only their last element
	// is shown.
	absPath = regexp.MustCompile(`(?:file:)?/[^\s'"\]\[,;]+`)
)

// explainFailure picks from ffmpeg's stderr the lines that explain why it
// failed (at most three, generic ones dropped, paths cut to file names),
// falling back to the last line.
func explainFailure(stderr string) string {
	var picked []string
	seen := map[string]bool{}
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		line = contextPrefix.ReplaceAllString(line, "$1: ")
		line = scrubPaths(line)
		if isGeneric(line) || seen[line] {
			continue
		}
		seen[line] = true
		picked = append(picked, line)
	}
	if len(picked) == 0 {
		return scrubPaths(lastLine(stderr))
	}
	if len(picked) > 3 {
		picked = picked[len(picked)-3:]
	}
	msg := strings.Join(picked, "; ")
	if len(msg) > 600 {
		msg = msg[:600] + "…"
	}
	return msg
}

func isGeneric(line string) bool {
	l := strings.ToLower(line)
	for _, g := range genericLines {
		if strings.Contains(l, g) {
			return true
		}
	}
	return false
}

func scrubPaths(s string) string {
	return absPath.ReplaceAllStringFunc(s, func(p string) string {
		return filepath.Base(strings.TrimPrefix(p, "file:"))
	})
}
