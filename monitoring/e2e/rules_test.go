package e2e

import (
	"os"
	"testing"

	"go.yaml.in/yaml/v2"
)

// ruleSet is what the test compares between the shipped rules and the copy
// Prometheus loads.
type ruleSet struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestShortenFor_ChangesOnlyForClauses(t *testing.T) {
	src, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	out, err := shortenFor(src, ruleFor)
	if err != nil {
		t.Fatal(err)
	}
	var before, after ruleSet
	if err := yaml.UnmarshalStrict(src, &before); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(out, &after); err != nil {
		t.Fatalf("the rewritten rules: %v\n%s", err, out)
	}
	if len(before.Groups) != len(after.Groups) {
		t.Fatalf("%d groups became %d", len(before.Groups), len(after.Groups))
	}
	shortened := 0
	for i, g := range before.Groups {
		ag := after.Groups[i]
		if g.Name != ag.Name || len(g.Rules) != len(ag.Rules) {
			t.Fatalf("group %s (%d rules) became %s (%d rules)", g.Name, len(g.Rules), ag.Name, len(ag.Rules))
		}
		for j, r := range g.Rules {
			a := ag.Rules[j]
			name := r.Alert + r.Record
			if a.Alert != r.Alert || a.Record != r.Record || a.Expr != r.Expr {
				t.Errorf("%s: the rule changed: %q became %q", name, r.Expr, a.Expr)
			}
			if len(a.Labels) != len(r.Labels) || len(a.Annotations) != len(r.Annotations) {
				t.Errorf("%s: labels or annotations changed", name)
			}
			for k, v := range r.Labels {
				if a.Labels[k] != v {
					t.Errorf("%s: label %s: %q became %q", name, k, v, a.Labels[k])
				}
			}
			switch {
			case r.For == "" && a.For != "":
				t.Errorf("%s: gained for: %s", name, a.For)
			case r.For != "" && a.For != ruleFor:
				t.Errorf("%s: for: %s became %s, want %s", name, r.For, a.For, ruleFor)
			case r.For != "":
				shortened++
			}
		}
	}
	if shortened == 0 {
		t.Fatal("no for: clause was shortened")
	}
}

func TestShortenFor_RefusesAFileWithoutRules(t *testing.T) {
	if _, err := shortenFor([]byte("global:\n  scrape_interval: 1s\n"), ruleFor); err == nil {
		t.Fatal("a file without rules was accepted")
	}
}
