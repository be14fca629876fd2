package deployments

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

// The monitoring configuration docker-compose.yml mounts; it is written
// alongside (monitoring/), and these tests check the two agree.
const (
	prometheusConfig = "monitoring/prometheus/prometheus.yml"
	grafanaProviders = "monitoring/grafana/provisioning/dashboards/dashboards.yml"
)

// prometheusYAML is the part of prometheus.yml the compose stack must match.
type prometheusYAML struct {
	RuleFiles []string `json:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"alertmanagers"`
	} `json:"alerting"`
	ScrapeConfigs []struct {
		JobName      string `json:"job_name"`
		DNSSDConfigs []struct {
			Names []string `json:"names"`
			Port  int      `json:"port"`
		} `json:"dns_sd_configs"`
		StaticConfigs []struct {
			Targets []string `json:"targets"`
		} `json:"static_configs"`
	} `json:"scrape_configs"`
}

// readMonitoring decodes a monitoring file, skipping the test while that
// file has not landed.
func readMonitoring(t *testing.T, rel string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if os.IsNotExist(err) {
		t.Skipf("%s does not exist yet", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// mountTarget is where the service mounts the repository file rel.
func mountTarget(t *testing.T, s types.ServiceConfig, rel string) (string, bool) {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		r, err := filepath.Rel(filepath.Join(root, filepath.FromSlash(rel)), v.Source)
		if err == nil && r == "." {
			return v.Target, true
		}
	}
	return "", false
}

// TestCompose_PrometheusScrapesEveryService checks that each stickerd
// service is a target of the Prometheus job named after its role, at the
// port of its STICKERD_HTTP_ADDR, through its service name or an alias.
func TestCompose_PrometheusScrapesEveryService(t *testing.T) {
	var cfg prometheusYAML
	readMonitoring(t, prometheusConfig, &cfg)
	p := loadCompose(t, "gpu")
	for _, s := range stickerdServices(t, p) {
		if roles[s.role].oneShot {
			continue // certs: no listener
		}
		names := []string{s.Name}
		for _, n := range s.Networks {
			if n != nil {
				names = append(names, n.Aliases...)
			}
		}
		port := portOf(s.env("STICKERD_HTTP_ADDR"))
		var jobFound, scraped bool
		for _, sc := range cfg.ScrapeConfigs {
			if sc.JobName != s.role {
				continue
			}
			jobFound = true
			for _, d := range sc.DNSSDConfigs {
				if strconv.Itoa(d.Port) == port && slices.ContainsFunc(d.Names, func(n string) bool { return slices.Contains(names, n) }) {
					scraped = true
				}
			}
			for _, st := range sc.StaticConfigs {
				for _, target := range st.Targets {
					host, tport, _ := strings.Cut(target, ":")
					scraped = scraped || (tport == port && slices.Contains(names, host))
				}
			}
		}
		switch {
		case !jobFound:
			t.Errorf("service %s: %s has no scrape job %q", s.Name, prometheusConfig, s.role)
		case !scraped:
			t.Errorf("service %s: job %q of %s does not scrape it as one of %v on port %s", s.Name, s.role, prometheusConfig, names, port)
		}
	}
}

func TestCompose_MonitoringMounts(t *testing.T) {
	var cfg prometheusYAML
	readMonitoring(t, prometheusConfig, &cfg)
	p := loadCompose(t)
	prom, ok := p.Services["prometheus"]
	if !ok {
		t.Fatal("no prometheus service")
	}
	cfgTarget, ok := mountTarget(t, prom, prometheusConfig)
	if !ok {
		t.Fatalf("prometheus does not mount %s", prometheusConfig)
	}
	if !slices.Contains(prom.Command, "--config.file="+cfgTarget) {
		t.Errorf("prometheus mounts its config at %s but runs with %v", cfgTarget, prom.Command)
	}
	rulesTarget, ok := mountTarget(t, prom, "monitoring/prometheus/rules")
	if !ok {
		t.Fatal("prometheus does not mount monitoring/prometheus/rules")
	}
	for _, rf := range cfg.RuleFiles {
		if !path.IsAbs(rf) {
			rf = path.Join(path.Dir(cfgTarget), rf)
		}
		if path.Dir(rf) != rulesTarget {
			t.Errorf("rule_files %s is not in the mounted rules folder %s", rf, rulesTarget)
		}
	}
	for _, am := range cfg.Alerting.Alertmanagers {
		for _, sc := range am.StaticConfigs {
			for _, target := range sc.Targets {
				host, port, _ := strings.Cut(target, ":")
				if _, ok := p.Services[host]; !ok || port != "9093" {
					t.Errorf("prometheus sends alerts to %s, which is no alertmanager service on 9093", target)
				}
			}
		}
	}
	var providers struct {
		Providers []struct {
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	readMonitoring(t, grafanaProviders, &providers)
	target, ok := mountTarget(t, p.Services["grafana"], "monitoring/grafana/dashboards")
	if !ok {
		t.Fatal("grafana does not mount monitoring/grafana/dashboards")
	}
	for _, pr := range providers.Providers {
		if pr.Options.Path != target {
			t.Errorf("%s reads dashboards from %s, but compose mounts them at %s", grafanaProviders, pr.Options.Path, target)
		}
	}
}
