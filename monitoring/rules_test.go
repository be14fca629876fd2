package monitoring

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRules_NameExportedMetrics parses every recording and alert rule and
// checks that it selects only metrics that exist, and only taxonomy codes.
func TestRules_NameExportedMetrics(t *testing.T) {
	known := knownSeries(t)
	recorded := map[string]bool{}
	for _, r := range loadRules(t) {
		name := r.Alert + r.Record
		checkExpr(t, rulesFile+": "+name, r.Expr, known)
		if r.Record == "" {
			continue
		}
		if strings.Count(r.Record, ":") != 2 {
			t.Errorf("recording rule %s: want level:metric:operations", r.Record)
		}
		if recorded[r.Record] {
			t.Errorf("recording rule %s defined twice", r.Record)
		}
		recorded[r.Record] = true
	}
}

var (
	severities   = []string{"critical", "warning", "info"}
	durationText = regexp.MustCompile(`^[0-9]+[smh]$`)
)

func TestRules_AlertsAreComplete(t *testing.T) {
	seen := map[string]bool{} // alertname/severity
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		t.Run(r.Alert+"/"+r.Labels["severity"], func(t *testing.T) {
			if !strings.HasPrefix(r.Alert, "Stickerd") {
				t.Errorf("alert names start with Stickerd")
			}
			sev := r.Labels["severity"]
			if !slices.Contains(severities, sev) {
				t.Errorf("severity %q, want one of %v", sev, severities)
			}
			if seen[r.Alert+"/"+sev] {
				t.Errorf("two rules with the same name and severity")
			}
			seen[r.Alert+"/"+sev] = true
			for _, a := range []string{"summary", "description", "runbook"} {
				text := strings.TrimSpace(r.Annotations[a])
				if text == "" {
					t.Errorf("no %s annotation", a)
				}
				if a != "description" && strings.Contains(text, "\n") {
					t.Errorf("%s must be one line", a)
				}
			}
			if r.For != "" && !durationText.MatchString(r.For) {
				t.Errorf("for: %q", r.For)
			}
		})
	}
}

type ruleTestFile struct {
	RuleFiles          []string `yaml:"rule_files"`
	EvaluationInterval string   `yaml:"evaluation_interval"`
	Tests              []struct {
		Name          string `yaml:"name"`
		Interval      string `yaml:"interval"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestRules_EveryAlertIsUnitTested reads the promtool tests (which
// TestTools_Promtool runs) and requires, for every alert, a case where it
// fires at each of its severities and a case where it stays silent.
func TestRules_EveryAlertIsUnitTested(t *testing.T) {
	fires := map[string]bool{}  // alertname/severity
	silent := map[string]bool{} // alertname
	for _, f := range glob(t, ruleTestsGlob) {
		var tf ruleTestFile
		loadYAML(t, f, &tf, false)
		want := filepath.Join("..", "rules", filepath.Base(rulesFile))
		if !slices.Equal(tf.RuleFiles, []string{want}) {
			t.Errorf("%s: rule_files %v, want [%s]", f, tf.RuleFiles, want)
		}
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) == 0 {
					silent[a.Alertname] = true
				}
				for _, e := range a.ExpAlerts {
					fires[a.Alertname+"/"+e.ExpLabels["severity"]] = true
					if len(e.ExpAnnotations) == 0 {
						t.Errorf("%s: %s: %s fires without expected annotations", f, tc.Name, a.Alertname)
					}
				}
			}
		}
	}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if !fires[r.Alert+"/"+r.Labels["severity"]] {
			t.Errorf("%s (%s): no promtool case where it fires", r.Alert, r.Labels["severity"])
		}
		if !silent[r.Alert] {
			t.Errorf("%s: no promtool case where it stays silent", r.Alert)
		}
	}
}

type alertmanagerConfig struct {
	Route struct {
		Receiver string   `yaml:"receiver"`
		GroupBy  []string `yaml:"group_by"`
		Routes   []struct {
			Matchers []string `yaml:"matchers"`
			Receiver string   `yaml:"receiver"`
		} `yaml:"routes"`
	} `yaml:"route"`
	InhibitRules []struct {
		SourceMatchers []string `yaml:"source_matchers"`
		TargetMatchers []string `yaml:"target_matchers"`
		Equal          []string `yaml:"equal"`
	} `yaml:"inhibit_rules"`
	Receivers []map[string]any `yaml:"receivers"`
}

// TestAlertmanager_RoutesEverySeverity checks the contract between the rules
// and the routing; amtool (TestTools_Amtool) checks the syntax and the tree.
func TestAlertmanager_RoutesEverySeverity(t *testing.T) {
	var c alertmanagerConfig
	loadYAML(t, alertmanagerFile, &c, false)
	if !slices.Equal(c.Route.GroupBy, []string{"alertname", "service"}) {
		t.Errorf("group_by %v, want [alertname service]", c.Route.GroupBy)
	}
	want := map[string]string{"critical": "pager", "warning": "chat", "info": "null"}
	for _, r := range c.Route.Routes {
		for sev, recv := range want {
			if slices.Equal(r.Matchers, []string{`severity="` + sev + `"`}) && r.Receiver == recv {
				delete(want, sev)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("severities without their route: %v", want)
	}
	inhibits := false
	for _, ir := range c.InhibitRules {
		if slices.Equal(ir.SourceMatchers, []string{`severity="critical"`}) &&
			slices.Equal(ir.TargetMatchers, []string{`severity="warning"`}) && slices.Contains(ir.Equal, "alertname") {
			inhibits = true
		}
	}
	if !inhibits {
		t.Error("no inhibit rule from critical to warning of the same alertname")
	}
}
