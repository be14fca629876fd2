package monitoring

import (
	"strings"
	"testing"
)

// TestTracing_ExemplarsLinkToJaeger: the latency panels ask for exemplars,
// the Prometheus data source sends their trace_id to the Jaeger source,
// and that source is provisioned with the uid it names.
func TestTracing_ExemplarsLinkToJaeger(t *testing.T) {
	var ds struct {
		Datasources []struct {
			Name, UID, Type, URL string
			JSONData             struct {
				ExemplarTraceIDDestinations []struct {
					Name          string `yaml:"name"`
					DatasourceUID string `yaml:"datasourceUid"`
				} `yaml:"exemplarTraceIdDestinations"`
			} `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	loadYAML(t, "grafana/provisioning/datasources/prometheus.yml", &ds, false)
	dest := ds.Datasources[0].JSONData.ExemplarTraceIDDestinations
	if len(dest) != 1 || dest[0].Name != "trace_id" {
		t.Fatalf("the Prometheus source's exemplar destinations %+v: want trace_id", dest)
	}
	var jaeger struct {
		Datasources []struct{ Name, UID, Type, URL string } `yaml:"datasources"`
	}
	loadYAML(t, "grafana/provisioning/datasources/jaeger.yml", &jaeger, false)
	if len(jaeger.Datasources) != 1 || jaeger.Datasources[0].Type != "jaeger" || jaeger.Datasources[0].UID != dest[0].DatasourceUID {
		t.Fatalf("jaeger.yml %+v: want one jaeger source with uid %s", jaeger.Datasources, dest[0].DatasourceUID)
	}

	type exemplarTarget struct {
		Expr     string `json:"expr"`
		Exemplar bool   `json:"exemplar"`
	}
	var withExemplars []string
	for _, f := range glob(t, dashboardsGlob) {
		var d struct {
			Panels []struct {
				Title   string           `json:"title"`
				Targets []exemplarTarget `json:"targets"`
			} `json:"panels"`
		}
		loadJSON(t, f, &d)
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				for _, h := range []string{"stickerd_render_duration_seconds_bucket", "stickerd_http_request_duration_seconds_bucket"} {
					if strings.Contains(tg.Expr, "histogram_quantile") && strings.Contains(tg.Expr, h) {
						if !tg.Exemplar {
							t.Errorf("%s: panel %q shows %s without its exemplars", f, p.Title, h)
						}
						withExemplars = append(withExemplars, h)
					}
				}
			}
		}
	}
	if len(withExemplars) < 2 {
		t.Fatalf("latency panels with exemplars: %v; want the render and the request latency", withExemplars)
	}
}
