package monitoring

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
			Current    struct {
				Value any `json:"value"`
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int      `json:"id"`
	Type       string   `json:"type"`
	Title      string   `json:"title"`
	Datasource *dsRef   `json:"datasource"`
	Targets    []target `json:"targets"`
	Panels     []panel  `json:"panels"` // a collapsed row's panels
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Options struct {
		YAxis struct {
			Unit string `json:"unit"`
		} `json:"yAxis"`
	} `json:"options"`
}

type target struct {
	RefID      string `json:"refId"`
	Expr       string `json:"expr"`
	Datasource *dsRef `json:"datasource"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	out := map[string]dashboard{}
	for _, f := range glob(t, dashboardsGlob) {
		var d dashboard
		loadJSON(t, f, &d)
		out[filepath.Base(f)] = d
	}
	return out
}

// panels flattens rows, collapsed or not.
func (d dashboard) panels() []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// TestDashboards_NameExportedMetrics parses every panel query and template
// variable query and checks that it selects only metrics that exist.
func TestDashboards_NameExportedMetrics(t *testing.T) {
	known := knownSeries(t)
	for file, d := range loadDashboards(t) {
		t.Run(file, func(t *testing.T) {
			queries := 0
			for _, p := range d.panels() {
				for _, tg := range p.Targets {
					checkExpr(t, file+": "+p.Title+"/"+tg.RefID, tg.Expr, known)
					queries++
				}
			}
			for _, v := range d.Templating.List {
				if v.Type != "query" {
					continue
				}
				m := labelValuesQuery.FindStringSubmatch(v.Definition)
				if m == nil {
					t.Errorf("%s: variable %s: want label_values(selector, label), got %q", file, v.Name, v.Definition)
					continue
				}
				checkExpr(t, file+": variable "+v.Name, m[1], known)
			}
			if queries == 0 {
				t.Errorf("%s has no queries", file)
			}
		})
	}
}

// fixedWindow is a literal range in a dashboard query: dashboards use
// $__rate_interval (or $__range), so a panel stays right at every zoom.
var fixedWindow = regexp.MustCompile(`\[[0-9]+[smhdwy]\]`)

func TestDashboards_Structure(t *testing.T) {
	uids := map[string]string{}
	for file, d := range loadDashboards(t) {
		t.Run(file, func(t *testing.T) {
			if d.UID == "" || !strings.HasPrefix(d.Title, "stickerd / ") {
				t.Errorf("uid %q title %q: want a uid and a 'stickerd / ' title", d.UID, d.Title)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %q also used by %s", d.UID, other)
			}
			uids[d.UID] = file
			checkDatasourceVariable(t, d)
			ids := map[int]bool{}
			var placed []panel
			for _, p := range d.panels() {
				where := file + ": " + p.Title
				if ids[p.ID] {
					t.Errorf("%s: duplicate panel id %d", where, p.ID)
				}
				ids[p.ID] = true
				g := p.GridPos
				if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
					t.Errorf("%s: gridPos %+v outside the 24-column grid", where, g)
				}
				for _, q := range placed {
					if overlap(p, q) {
						t.Errorf("%s overlaps %s", where, q.Title)
					}
				}
				placed = append(placed, p)
				if p.Type == "row" {
					continue
				}
				checkPanel(t, where, p)
			}
		})
	}
}

func checkDatasourceVariable(t *testing.T, d dashboard) {
	t.Helper()
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && v.Current.Value == datasourceUID {
			return
		}
	}
	t.Errorf("%s: want a 'datasource' variable defaulting to %s", d.Title, datasourceUID)
}

func checkPanel(t *testing.T, where string, p panel) {
	t.Helper()
	unit := p.FieldConfig.Defaults.Unit
	if p.Type == "heatmap" {
		unit = p.Options.YAxis.Unit
	}
	if unit == "" {
		t.Errorf("%s: no unit", where)
	}
	if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
		t.Errorf("%s: panel datasource must be ${datasource}", where)
	}
	if len(p.Targets) == 0 {
		t.Errorf("%s: no queries", where)
	}
	for _, tg := range p.Targets {
		if tg.RefID == "" || tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
			t.Errorf("%s: target %q needs a refId and the ${datasource}", where, tg.RefID)
		}
		if w := fixedWindow.FindString(tg.Expr); w != "" {
			t.Errorf("%s: %q uses the fixed window %s; use $__rate_interval", where, tg.Expr, w)
		}
	}
}

func overlap(a, b panel) bool {
	ga, gb := a.GridPos, b.GridPos
	return ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H
}
