package monitoring

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// lookTool finds a checker from Debian's packages. Locally a missing tool
// skips its test; in CI (CI set) it fails, since scripts/deps.sh installs it.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found: install Debian's %s (apt-get install %s, or scripts/deps.sh)", name, pkg, pkg)
	}
	t.Skipf("%s not found; apt-get install %s (scripts/deps.sh) to run this check", name, pkg)
	return ""
}

func run(t *testing.T, tool string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestTools_Promtool(t *testing.T) {
	promtool := lookTool(t, "promtool", "prometheus")
	tests := []struct {
		name string
		args []string
	}{
		{"check rules", []string{"check", "rules", rulesFile}},
		{"check config", []string{"check", "config", prometheusConfig}},
		{"test rules", append([]string{"test", "rules"}, glob(t, ruleTestsGlob)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, promtool, tt.args...)
		})
	}
}

func TestTools_Amtool(t *testing.T) {
	amtool := lookTool(t, "amtool", "prometheus-alertmanager")
	run(t, amtool, "check-config", alertmanagerFile)
	tests := []struct {
		labels   []string
		receiver string
	}{
		{[]string{"severity=critical", "alertname=StickerdStorageFailing"}, "pager"},
		{[]string{"severity=warning", "alertname=StickerdFFmpegFailing", "service=worker"}, "chat"},
		{[]string{"severity=info", "alertname=StickerdClientErrorsHigh"}, "null"},
		{[]string{"alertname=Unlabelled"}, "chat"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.labels, ","), func(t *testing.T) {
			args := append([]string{"config", "routes", "test", "--config.file=" + alertmanagerFile}, tt.labels...)
			out := run(t, amtool, args...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			got := ""
			for _, l := range lines {
				if !strings.HasPrefix(l, "Warning:") {
					got = strings.TrimSpace(l)
				}
			}
			if got != tt.receiver {
				t.Fatalf("routed to %q, want %q (output %q)", got, tt.receiver, out)
			}
		})
	}
}
