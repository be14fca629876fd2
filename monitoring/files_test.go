package monitoring

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v2"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/metrics"
)

// The files under test, relative to this package.
const (
	rulesFile         = "prometheus/rules/stickerd.rules.yml"
	ruleTestsGlob     = "prometheus/tests/*.yml"
	prometheusConfig  = "prometheus/prometheus.yml"
	alertmanagerFile  = "alertmanager/alertmanager.yml"
	dashboardsGlob    = "grafana/dashboards/*.json"
	grafanaAlertsFile = "grafana/provisioning/alerting/rules.yml"
	datasourceUID     = "stickerd-prometheus"
)

// builtinSeries are series stickerd does not define that queries may use:
// Prometheus's own (up, ALERTS) and stock etcd's leader gauge (job etcd).
var builtinSeries = []string{"up", "ALERTS", "ALERTS_FOR_STATE", "etcd_server_has_leader"}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// loadYAML decodes path into v. Strict decoding (every field of the file
// known to v) catches a misspelt key in files v describes completely.
func loadYAML(t *testing.T, path string, v any, strict bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unmarshal := yaml.Unmarshal
	if strict {
		unmarshal = yaml.UnmarshalStrict
	}
	if err := unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	loadYAML(t, rulesFile, &f, true)
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rules", rulesFile)
	}
	return out
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	return files
}

func loadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// knownSeries is what a query may select: every series of
// internal/metrics (histograms by their _bucket, _sum and _count), the
// recording rules and Prometheus's own series.
func knownSeries(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, n := range metrics.SeriesNames() {
		known[n] = true
	}
	for _, r := range loadRules(t) {
		if r.Record != "" {
			known[r.Record] = true
		}
	}
	for _, n := range builtinSeries {
		known[n] = true
	}
	return known
}

// grafanaVars replaces Grafana's interval variables, which stand where
// PromQL wants a duration, so the parser accepts dashboard queries. Other
// variables ($service) only appear inside label values.
var grafanaVars = strings.NewReplacer(
	"${__rate_interval}", "5m", "$__rate_interval", "5m",
	"${__interval}", "1m", "$__interval", "1m",
	"${__range}", "1h", "$__range", "1h",
)

var promql = parser.NewParser(parser.Options{})

// selector is one vector selector of a query: its metric name and its
// other label matchers.
type selector struct {
	name     string
	matchers []*labels.Matcher
}

// parseSelectors parses a PromQL expression (Grafana variables allowed) and
// returns its vector selectors.
func parseSelectors(expr string) ([]selector, error) {
	e, err := promql.ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return nil, err
	}
	var out []selector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		s := selector{name: vs.Name}
		for _, m := range vs.LabelMatchers {
			switch {
			case m.Name != labels.MetricName:
				s.matchers = append(s.matchers, m)
			case s.name == "" && m.Type == labels.MatchEqual:
				s.name = m.Value
			}
		}
		out = append(out, s)
		return nil
	})
	return out, nil
}

// checkExpr fails t unless expr parses and selects only known series.
func checkExpr(t *testing.T, where, expr string, known map[string]bool) []selector {
	t.Helper()
	sels, err := parseSelectors(expr)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, expr, err)
		return nil
	}
	if len(sels) == 0 {
		t.Errorf("%s: %q selects no series", where, expr)
	}
	for _, s := range sels {
		if !known[s.name] {
			t.Errorf("%s: %q selects %q, which is not a metric of internal/metrics, a recording rule or a Prometheus series",
				where, expr, s.name)
		}
		checkCodes(t, where, s)
	}
	return sels
}

// literalAlternation is a regex that only lists codes: A|B|C.
var literalAlternation = regexp.MustCompile(`^[A-Z_]+(\|[A-Z_]+)*$`)

// checkCodes fails t when a selector's code matcher names a code outside the
// taxonomy, or a regex that matches none.
func checkCodes(t *testing.T, where string, s selector) {
	t.Helper()
	for _, m := range s.matchers {
		// Grafana variables ($code) are checked where they are defined.
		if m.Name != "code" || !strings.Contains(s.name, "errors") || strings.Contains(m.Value, "$") {
			continue
		}
		switch m.Type {
		case labels.MatchEqual:
			if !errcode.Code(m.Value).Valid() {
				t.Errorf("%s: %s{code=%q}: not a code of the taxonomy", where, s.name, m.Value)
			}
		case labels.MatchRegexp:
			if literalAlternation.MatchString(m.Value) {
				for _, c := range strings.Split(m.Value, "|") {
					if !errcode.Code(c).Valid() {
						t.Errorf("%s: %s{code=~%q}: %s is not a code of the taxonomy", where, s.name, m.Value, c)
					}
				}
			}
			matched := false
			for _, c := range errcode.All() {
				matched = matched || m.Matches(string(c))
			}
			if !matched {
				t.Errorf("%s: %s{code=~%q} matches no code of the taxonomy", where, s.name, m.Value)
			}
		}
	}
}

// labelValuesQuery extracts the selector of a Grafana label_values(...) query.
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
