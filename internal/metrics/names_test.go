package metrics

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// unitWords maps words of a help text to the base unit the name must carry.
// Prometheus names use base units (seconds, bytes) and ratios 0..1, never
// milliseconds, kilobytes or percent.
var unitWords = []struct {
	help   *regexp.Regexp
	suffix string
}{
	{regexp.MustCompile(`(?i)\b(latency|time|duration|age)\b`), "_seconds"},
	{regexp.MustCompile(`(?i)\b(size|bytes)\b`), "_bytes"},
	{regexp.MustCompile(`(?i)(utili[sz]ation|\(0\.\.1\))`), "_ratio"},
}

var nonBaseUnit = regexp.MustCompile(`_(ms|milliseconds|microseconds|us|ns|minutes|hours|kb|kilobytes|mb|megabytes|percent|pct)(_|$)`)

func TestNames_FollowConventions(t *testing.T) {
	fams := Families()
	if len(fams) < 30 {
		t.Fatalf("Families found %d metrics; metrics.go defines more", len(fams))
	}
	for _, f := range fams {
		t.Run(f.Name, func(t *testing.T) {
			if !regexp.MustCompile(`^stickerd_[a-z][a-z0-9_]*[a-z0-9]$`).MatchString(f.Name) {
				t.Errorf("%s: want stickerd_ prefix and snake_case", f.Name)
			}
			if f.Help == "" {
				t.Errorf("%s: empty help", f.Name)
			}
			total := strings.HasSuffix(f.Name, "_total")
			if f.Type == TypeCounter && !total {
				t.Errorf("%s: a counter's name ends in _total", f.Name)
			}
			if f.Type != TypeCounter && total {
				t.Errorf("%s: only counters end in _total (type %s)", f.Name, f.Type)
			}
			if nonBaseUnit.MatchString(f.Name) {
				t.Errorf("%s: use base units (_seconds, _bytes, _ratio)", f.Name)
			}
			base := strings.TrimSuffix(f.Name, "_total")
			for _, u := range unitWords {
				if u.help.MatchString(f.Help) && !strings.HasSuffix(base, u.suffix) {
					t.Errorf("%s: help %q measures %s, the name must end in it", f.Name, f.Help, u.suffix)
				}
			}
			for _, l := range f.Labels {
				if l == "le" || strings.HasPrefix(l, "__") {
					t.Errorf("%s: reserved label %q", f.Name, l)
				}
			}
		})
	}
}

func TestNames_SortedAndUnique(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Fatal("Names not sorted")
	}
	if len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatal("Names has duplicates")
	}
}

func TestFamilies_KnownShapes(t *testing.T) {
	tests := []struct {
		name   string
		typ    Type
		labels []string
	}{
		{"stickerd_errors_total", TypeCounter, []string{"service", "code"}},
		{"stickerd_local_errors_total", TypeCounter, []string{"service", "code"}},
		{"stickerd_queue_oldest_age_seconds", TypeGauge, nil},
		{"stickerd_http_request_duration_seconds", TypeHistogram, []string{"route", "method"}},
		{"stickerd_rtc_frame_processing_seconds", TypeHistogram, nil},
		{"stickerd_worker_cpu_utilization_ratio", TypeGauge, []string{"worker"}},
	}
	byName := map[string]Family{}
	for _, f := range Families() {
		byName[f.Name] = f
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := byName[tt.name]
			if !ok {
				t.Fatalf("%s not found", tt.name)
			}
			if f.Type != tt.typ || !slices.Equal(f.Labels, tt.labels) {
				t.Fatalf("got %s %v, want %s %v", f.Type, f.Labels, tt.typ, tt.labels)
			}
		})
	}
}

func TestSeriesNames_HistogramSuffixes(t *testing.T) {
	series := SeriesNames()
	for _, want := range []string{
		"stickerd_render_duration_seconds_bucket",
		"stickerd_render_duration_seconds_sum",
		"stickerd_render_duration_seconds_count",
		"stickerd_errors_total",
	} {
		if !slices.Contains(series, want) {
			t.Errorf("SeriesNames lacks %s", want)
		}
	}
	if slices.Contains(series, "stickerd_render_duration_seconds") {
		t.Error("a histogram's bare name is no series")
	}
}

func TestParseDesc(t *testing.T) {
	tests := []struct {
		name, in string
		want     Family
		wantErr  bool
	}{
		{"plain", `Desc{fqName: "a_total", help: "Some \"help\".", constLabels: {}, variableLabels: {x,y}}`,
			Family{Name: "a_total", Help: `Some "help".`, Labels: []string{"x", "y"}}, false},
		{"with unit", `Desc{fqName: "b", help: "h", unit: "", constLabels: {}, variableLabels: {}}`,
			Family{Name: "b", Help: "h"}, false},
		{"constrained", `Desc{fqName: "c", help: "h", constLabels: {}, variableLabels: {c(code)}}`,
			Family{Name: "c", Help: "h", Labels: []string{"code"}}, false},
		{"garbage", `nope`, Family{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDesc(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (got.Name != tt.want.Name || got.Help != tt.want.Help || !slices.Equal(got.Labels, tt.want.Labels)) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestCollectors_ListEveryMetricVar keeps collectors() in step with
// metrics.go: every `Name: "…"` inside a promauto constructor is a family.
func TestCollectors_ListEveryMetricVar(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "metrics.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	ast.Inspect(file, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		key, ok := kv.Key.(*ast.Ident)
		lit, isLit := kv.Value.(*ast.BasicLit)
		if ok && key.Name == "Name" && isLit && lit.Kind == token.STRING {
			name, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			declared = append(declared, name)
		}
		return true
	})
	slices.Sort(declared)
	if got := Names(); !slices.Equal(got, declared) {
		t.Fatalf("collectors() is out of date with metrics.go:\n got  %v\n want %v", got, declared)
	}
}
