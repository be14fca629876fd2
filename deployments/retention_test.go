package deployments

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/flagenv"
	"github.com/stickerd/stickerd/scheduler"
)

// retentionDefaults are `stickerd scheduler`'s retention defaults, by the
// environment twin of each flag.
func retentionDefaults() map[string]time.Duration {
	d := scheduler.DefaultConfig()
	return map[string]time.Duration{
		flagenv.Name("output-ttl"): d.OutputTTL,
		flagenv.Name("asset-ttl"):  d.AssetTTL,
		flagenv.Name("job-ttl"):    d.JobTTL,
	}
}

// checkRetention: a scheduler sets every retention flag, to the binary's
// default (the files document the defaults by writing them), and has the
// blob store, without which its leader expires nothing.
func checkRetention(t *testing.T, where string, env func(string) (string, bool)) {
	t.Helper()
	for name, want := range retentionDefaults() {
		v, ok := env(name)
		if !ok {
			t.Errorf("%s: sets no %s", where, name)
			continue
		}
		if got, err := time.ParseDuration(v); err != nil || got != want {
			t.Errorf("%s: %s=%q, want the default %s", where, name, v, want)
		}
	}
	if u, ok := env("STICKERD_BLOB_URL"); !ok || !strings.HasPrefix(u, "s3://") {
		t.Errorf("%s: STICKERD_BLOB_URL=%q: without the blob store the scheduler expires nothing", where, u)
	}
}

func TestCompose_SchedulersEnforceRetention(t *testing.T) {
	p := loadCompose(t)
	n := 0
	for _, s := range stickerdServices(t, p) {
		if s.role != "scheduler" {
			continue
		}
		n++
		checkRetention(t, "service "+s.Name, func(name string) (string, bool) {
			v := s.Environment[name]
			if v == nil {
				return "", false
			}
			return *v, true
		})
	}
	if n == 0 {
		t.Fatal("no scheduler service")
	}
}

func TestK8s_SchedulersEnforceRetention(t *testing.T) {
	m := loadManifests(t)
	blobstore := m.configMap("stickerd-blobstore")
	if blobstore == nil {
		t.Fatal("no ConfigMap stickerd-blobstore")
	}
	n := 0
	for _, w := range m.workloads() {
		for _, c := range w.template.Spec.Containers {
			if !isStickerd(c) || len(c.Args) == 0 || c.Args[0] != "scheduler" {
				continue
			}
			n++
			where := fmt.Sprintf("%s %s", w.kind, w.name)
			m.checkBlobStore(t, where, c)
			checkRetention(t, where, func(name string) (string, bool) {
				if e, ok := envValue(c, name); ok {
					return e.Value, true
				}
				for _, ef := range c.EnvFrom {
					if ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == blobstore.Name {
						v, ok := blobstore.Data[name]
						return v, ok
					}
				}
				return "", false
			})
		}
	}
	if n == 0 {
		t.Fatal("no scheduler workload")
	}
}

// The README's table of the flags the files set names the scheduler's
// blob store and retention flags.
func TestReadme_SchedulerFlags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "deployments", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "| `scheduler` |") {
			row = l
		}
	}
	for _, f := range append(append([]string{}, retentionFlags...), blobFlags...) {
		if !strings.Contains(row, "`--"+f+"`") {
			t.Errorf("deployments/README.md: the scheduler row does not name --%s: %s", f, row)
		}
	}
}
