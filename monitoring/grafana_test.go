package monitoring

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
)

type grafanaAlerts struct {
	APIVersion int `yaml:"apiVersion"`
	Groups     []struct {
		OrgID    int           `yaml:"orgId"`
		Name     string        `yaml:"name"`
		Folder   string        `yaml:"folder"`
		Interval string        `yaml:"interval"`
		Rules    []grafanaRule `yaml:"rules"`
	} `yaml:"groups"`
}

type grafanaRule struct {
	UID       string `yaml:"uid"`
	Title     string `yaml:"title"`
	Condition string `yaml:"condition"`
	Data      []struct {
		RefID             string         `yaml:"refId"`
		RelativeTimeRange map[string]int `yaml:"relativeTimeRange"`
		DatasourceUID     string         `yaml:"datasourceUid"`
		Model             struct {
			RefID      string `yaml:"refId"`
			Expr       string `yaml:"expr"`
			Type       string `yaml:"type"`
			Expression string `yaml:"expression"`
			Conditions []struct {
				Evaluator struct {
					Type   string    `yaml:"type"`
					Params []float64 `yaml:"params"`
				} `yaml:"evaluator"`
			} `yaml:"conditions"`
		} `yaml:"model"`
	} `yaml:"data"`
	NoDataState  string            `yaml:"noDataState"`
	ExecErrState string            `yaml:"execErrState"`
	For          string            `yaml:"for"`
	Labels       map[string]string `yaml:"labels"`
	Annotations  map[string]string `yaml:"annotations"`
}

func loadGrafanaRules(t *testing.T) []grafanaRule {
	t.Helper()
	var f grafanaAlerts
	loadYAML(t, grafanaAlertsFile, &f, false)
	if f.APIVersion != 1 || len(f.Groups) == 0 {
		t.Fatalf("%s: want apiVersion 1 and rule groups", grafanaAlertsFile)
	}
	var out []grafanaRule
	for _, g := range f.Groups {
		if g.OrgID != 1 || g.Folder == "" || g.Name == "" || !durationText.MatchString(g.Interval) {
			t.Errorf("group %q: want orgId, folder, name and interval", g.Name)
		}
		out = append(out, g.Rules...)
	}
	return out
}

// TestGrafanaAlerts_Valid checks the provisioning shape Grafana expects and
// every query against the exported metrics.
func TestGrafanaAlerts_Valid(t *testing.T) {
	known := knownSeries(t)
	uids, titles := map[string]bool{}, map[string]bool{}
	for _, r := range loadGrafanaRules(t) {
		t.Run(r.UID, func(t *testing.T) {
			if r.UID == "" || len(r.UID) > 40 || uids[r.UID] || titles[r.Title] {
				t.Errorf("uid %q / title %q: want unique, uid at most 40 characters", r.UID, r.Title)
			}
			uids[r.UID], titles[r.Title] = true, true
			refs := map[string]bool{}
			for _, d := range r.Data {
				if refs[d.RefID] || d.Model.RefID != d.RefID {
					t.Errorf("refId %q duplicated or not matching its model", d.RefID)
				}
				switch d.DatasourceUID {
				case datasourceUID:
					checkExpr(t, grafanaAlertsFile+": "+r.UID, d.Model.Expr, known)
				case "__expr__":
					if !refs[d.Model.Expression] {
						t.Errorf("%s reads %q, which is not an earlier step", d.RefID, d.Model.Expression)
					}
				default:
					t.Errorf("%s: datasourceUid %q", d.RefID, d.DatasourceUID)
				}
				refs[d.RefID] = true
			}
			if !refs[r.Condition] {
				t.Errorf("condition %q is not a step", r.Condition)
			}
			if !slices.Contains([]string{"OK", "NoData", "Alerting"}, r.NoDataState) ||
				!slices.Contains([]string{"OK", "Error", "Alerting"}, r.ExecErrState) {
				t.Errorf("noDataState %q execErrState %q", r.NoDataState, r.ExecErrState)
			}
			if !slices.Contains(severities, r.Labels["severity"]) {
				t.Errorf("severity %q", r.Labels["severity"])
			}
			if c, ok := r.Labels["code"]; ok && !errcode.Code(c).Valid() {
				t.Errorf("code label %q not in the taxonomy", c)
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("no %s annotation", a)
				}
			}
		})
	}
}

var trailingThreshold = regexp.MustCompile(`>\s*([0-9.]+)\s*$`)

// TestGrafanaAlerts_MatchPrometheusRules keeps the Grafana-managed rules a
// mirror of the Prometheus alerts: same name, severity, threshold and for.
func TestGrafanaAlerts_MatchPrometheusRules(t *testing.T) {
	prom := map[string]rule{}
	for _, r := range loadRules(t) {
		if r.Alert != "" {
			prom[r.Alert+"/"+r.Labels["severity"]] = r
		}
	}
	for _, g := range loadGrafanaRules(t) {
		t.Run(g.UID, func(t *testing.T) {
			p, ok := prom[g.Title+"/"+g.Labels["severity"]]
			if !ok {
				t.Fatalf("no Prometheus alert %s at severity %s", g.Title, g.Labels["severity"])
			}
			if orZero(g.For) != orZero(p.For) {
				t.Errorf("for %q, Prometheus has %q", g.For, p.For)
			}
			m := trailingThreshold.FindStringSubmatch(strings.TrimSpace(p.Expr))
			if m == nil {
				t.Fatalf("Prometheus expr %q does not end in '> threshold'", p.Expr)
			}
			want, _ := strconv.ParseFloat(m[1], 64)
			var got []float64
			for _, d := range g.Data {
				if d.RefID == g.Condition && d.Model.Type == "threshold" && len(d.Model.Conditions) == 1 &&
					d.Model.Conditions[0].Evaluator.Type == "gt" {
					got = d.Model.Conditions[0].Evaluator.Params
				}
			}
			if !slices.Equal(got, []float64{want}) {
				t.Errorf("threshold %v, Prometheus has > %v", got, want)
			}
		})
	}
}

func orZero(d string) string {
	if d == "" {
		return "0s"
	}
	return d
}

func TestGrafanaProvisioning_Consistent(t *testing.T) {
	var ds struct {
		Datasources []struct{ Name, UID, Type, URL string } `yaml:"datasources"`
	}
	loadYAML(t, "grafana/provisioning/datasources/prometheus.yml", &ds, false)
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != datasourceUID || ds.Datasources[0].Type != "prometheus" {
		t.Errorf("datasources %+v: want one prometheus source with uid %s", ds.Datasources, datasourceUID)
	}
	var cps struct {
		ContactPoints []struct {
			Name      string `yaml:"name"`
			Receivers []struct {
				UID, Type string
				Settings  map[string]string
			} `yaml:"receivers"`
		} `yaml:"contactPoints"`
	}
	loadYAML(t, "grafana/provisioning/alerting/contact-points.yml", &cps, false)
	var pol struct {
		Policies []struct{ Receiver string } `yaml:"policies"`
	}
	loadYAML(t, "grafana/provisioning/alerting/policies.yml", &pol, false)
	names := map[string]bool{}
	for _, cp := range cps.ContactPoints {
		for _, r := range cp.Receivers {
			if r.UID == "" || r.Type == "" || r.Settings["url"] == "" && r.Settings["addresses"] == "" {
				t.Errorf("contact point %s: receiver %+v needs uid, type and a destination", cp.Name, r)
			}
		}
		names[cp.Name] = true
	}
	if len(pol.Policies) != 1 || !names[pol.Policies[0].Receiver] {
		t.Errorf("policies %+v: the root policy must name a contact point of %v", pol.Policies, sortedKeys(names))
	}
	var dp struct {
		Providers []struct {
			Type    string
			Options map[string]any
		} `yaml:"providers"`
	}
	loadYAML(t, "grafana/provisioning/dashboards/dashboards.yml", &dp, false)
	if len(dp.Providers) != 1 || dp.Providers[0].Type != "file" || dp.Providers[0].Options["path"] == nil {
		t.Errorf("dashboard providers %+v: want one file provider with a path", dp.Providers)
	}
}
