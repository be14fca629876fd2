package deployments

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
	stage     int // index of the FROM it belongs to
}

// parseDockerfile is a minimal line scanner: comments and blank lines are
// dropped, backslash continuations joined, and each instruction tagged with
// its build stage. Heredocs are not supported (none is used).
func parseDockerfile(t *testing.T, path string) (ins []instruction, stages []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var buf strings.Builder
	stage := -1
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if buf.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasPrefix(line, "#") { // a comment inside a continued instruction
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			buf.WriteString(cont + " ")
			continue
		}
		buf.WriteString(line)
		cmd, args, _ := strings.Cut(buf.String(), " ")
		buf.Reset()
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
			fields := strings.Fields(args)
			name := ""
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				name = fields[2]
			}
			stages = append(stages, name)
		}
		ins = append(ins, instruction{cmd, strings.TrimSpace(args), stage})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ins, stages
}

func TestDockerfiles(t *testing.T) {
	p := loadCompose(t, "gpu")
	files, err := filepath.Glob("docker/Dockerfile*")
	if err != nil || len(files) != 3 {
		t.Fatalf("want Dockerfile, Dockerfile.worker and Dockerfile.worker-gpu in deployments/docker, found %v (%v)", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ins, stages := parseDockerfile(t, path)
			if len(stages) < 2 {
				t.Errorf("not multi-stage: %d FROM", len(stages))
			}
			final := len(stages) - 1
			var user string
			var healthcheck, gobuild bool
			var env, apt []string
			for _, in := range ins {
				switch in.cmd {
				case "USER":
					if in.stage == final {
						user = in.args
					}
				case "HEALTHCHECK":
					healthcheck = healthcheck || (in.stage == final && in.args != "NONE")
				case "ENV":
					if in.stage == final {
						env = append(env, in.args)
					}
				case "RUN":
					if strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/stickerd") {
						gobuild = true
					}
					if strings.Contains(in.args, "apt-get install") {
						apt = append(apt, in.args)
					}
				case "COPY":
					checkCopy(t, in, stages)
				}
			}
			if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
				t.Errorf("the final stage runs as %q; want a non-root USER", user)
			}
			if !healthcheck && !composeHealthchecks(p, filepath.Base(path)) {
				t.Error("no HEALTHCHECK, and not every compose service built from it has one")
			}
			if !gobuild {
				t.Error("no stage runs go build ./cmd/stickerd")
			}
			// The binary is cgo (libvpx for the edge): a build stage needs
			// the headers and the runtime the library.
			if !slices.ContainsFunc(apt, func(s string) bool { return strings.Contains(s, "libvpx-dev") }) {
				t.Error("no stage installs libvpx-dev for the cgo build")
			}
			if !slices.ContainsFunc(apt, func(s string) bool {
				return strings.Contains(s, "libvpx7") || strings.Contains(s, " ffmpeg")
			}) {
				t.Error("the runtime does not install libvpx (libvpx7, or ffmpeg which depends on it)")
			}
			if strings.Contains(path, "worker") && !slices.ContainsFunc(apt, func(s string) bool {
				return strings.Contains(s, "ffmpeg") && strings.Contains(s, "fonts-noto-color-emoji")
			}) {
				t.Error("a worker image needs ffmpeg and fonts-noto-color-emoji")
			}
			if strings.HasSuffix(path, "-gpu") {
				caps := ""
				for _, e := range env {
					if _, v, ok := strings.Cut(e, "NVIDIA_DRIVER_CAPABILITIES="); ok {
						caps, _, _ = strings.Cut(v, " ")
					}
				}
				for _, want := range []string{"compute", "video", "utility"} {
					if !slices.Contains(strings.Split(caps, ","), want) {
						t.Errorf("NVIDIA_DRIVER_CAPABILITIES=%q lacks %s", caps, want)
					}
				}
			}
		})
	}
}

// checkCopy checks that COPY --from names an earlier stage or an image, and
// that a COPY from the build context names files that exist.
func checkCopy(t *testing.T, in instruction, stages []string) {
	t.Helper()
	var srcs []string
	from := ""
	for _, f := range strings.Fields(in.args) {
		switch {
		case strings.HasPrefix(f, "--from="):
			from = strings.TrimPrefix(f, "--from=")
		case strings.HasPrefix(f, "--"):
		default:
			srcs = append(srcs, f)
		}
	}
	if len(srcs) < 2 {
		t.Errorf("COPY %s: want sources and a destination", in.args)
		return
	}
	srcs = srcs[:len(srcs)-1]
	if from != "" {
		if i := slices.Index(stages, from); (i < 0 || i >= in.stage) && !strings.ContainsAny(from, ":/") {
			t.Errorf("COPY --from=%s: no earlier stage of that name", from)
		}
		return
	}
	for _, s := range srcs {
		if _, err := os.Stat(filepath.Join(repoRoot, s)); err != nil {
			t.Errorf("COPY %s: %v", s, err)
		} else if dockerignored(t, s) {
			t.Errorf("COPY %s: excluded by .dockerignore", s)
		}
	}
}

// dockerignored tells whether .dockerignore excludes path or a folder above
// it (plain patterns only; ours has no exceptions).
func dockerignored(t *testing.T, path string) bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		return false
	}
	path = filepath.ToSlash(filepath.Clean(path))
	if path == "." {
		return false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		pat := strings.TrimSpace(line)
		if pat == "" || strings.HasPrefix(pat, "#") {
			continue
		}
		if strings.HasPrefix(pat, "!") {
			t.Fatalf(".dockerignore exception %q: teach dockerignored about it", pat)
		}
		for p := path; p != "."; p = filepath.ToSlash(filepath.Dir(p)) {
			if ok, _ := filepath.Match(pat, p); ok {
				return true
			}
		}
	}
	return false
}

// composeHealthchecks tells whether some compose service is built from the
// Dockerfile and every such service has a healthcheck of its own.
func composeHealthchecks(p *types.Project, dockerfile string) bool {
	n := 0
	for _, s := range p.Services {
		if s.Build == nil || filepath.Base(s.Build.Dockerfile) != dockerfile {
			continue
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable {
			return false
		}
		n++
	}
	return n > 0
}

func TestDockerignore_KeepsTheBuildInputs(t *testing.T) {
	for _, path := range []string{"go.mod", "go.sum", "cmd/stickerd", "deployments/docker/healthcheck.sh", "render", "services", "scheduler", "worker", "edge"} {
		if dockerignored(t, path) {
			t.Errorf(".dockerignore excludes %s, which the images build from", path)
		}
	}
}
